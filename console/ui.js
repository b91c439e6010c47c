// Shared pieces of every screen: fields, buttons, toasts, confirmations, tables, states.

import { html, useState, useEffect, useRef } from './vendor/preact-htm.js';
import { describeError, fieldErrors } from './format.js';

let nextId = 0;
/** A stable id for pairing a label with its control. */
export function useId(prefix) {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++nextId}`;
  return ref.current;
}

export function Field({ label, value, onInput, type = 'text', error, hint, required, placeholder, readOnly, autocomplete, name, multiline }) {
  const id = useId('field');
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
  const props = {
    id, name, value: value ?? '', required, placeholder, readOnly, autocomplete,
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': describedBy,
    onInput: (e) => onInput && onInput(e.target.value),
  };
  return html`<div class="field ${error ? 'has-error' : ''}">
    <label for=${id}>${label}${required ? html`<span aria-hidden="true"> *</span>` : null}</label>
    ${multiline ? html`<textarea rows="6" ...${props}></textarea>` : html`<input type=${type} ...${props} />`}
    ${hint ? html`<p class="hint" id="${id}-hint">${hint}</p>` : null}
    ${error ? html`<p class="error" id="${id}-error" role="alert">${error}</p>` : null}
  </div>`;
}

export function Select({ label, value, onChange, options, hint }) {
  const id = useId('select');
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.target.value)}>
      ${options.map(([v, text]) => html`<option value=${v} selected=${v === value}>${text}</option>`)}
    </select>
    ${hint ? html`<p class="hint">${hint}</p>` : null}
  </div>`;
}

export function Checkbox({ label, checked, onChange, hint }) {
  const id = useId('check');
  return html`<div class="check">
    <input type="checkbox" id=${id} checked=${checked} onChange=${(e) => onChange(e.target.checked)} />
    <label for=${id}>${label}</label>
    ${hint ? html`<span class="hint"> ${hint}</span>` : null}
  </div>`;
}

// ---- Toasts ----------------------------------------------------------------------------

const toastListeners = new Set();
let toasts = [];

export function toast(message, kind = 'success') {
  const id = ++nextId;
  toasts = [...toasts, { id, message, kind }];
  toastListeners.forEach((l) => l(toasts));
  setTimeout(() => {
    toasts = toasts.filter((t) => t.id !== id);
    toastListeners.forEach((l) => l(toasts));
  }, kind === 'error' ? 8000 : 4000);
}

export function toastError(error) {
  toast(describeError(error), 'error');
}

export function Toasts() {
  const [list, setList] = useState(toasts);
  useEffect(() => {
    toastListeners.add(setList);
    return () => toastListeners.delete(setList);
  }, []);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${list.slice(-3).map((t) => html`<div class="toast toast-${t.kind}" key=${t.id}>${t.message}</div>`)}
  </div>`;
}

// ---- Confirmation ------------------------------------------------------------------------

/** A button that asks before it acts: `onConfirm` runs only after "Yes". */
export function ConfirmButton({ label, question, confirmLabel = label, onConfirm, danger = true }) {
  const dialog = useRef(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      dialog.current && dialog.current.close();
    }
  };
  return html`<span>
    <button type="button" class=${danger ? 'danger' : ''} onClick=${() => dialog.current.showModal()}>${label}</button>
    <dialog ref=${dialog} aria-label=${question}>
      <p>${question}</p>
      <div class="actions">
        <button type="button" onClick=${() => dialog.current.close()}>Cancel</button>
        <button type="button" class=${danger ? 'danger' : 'primary'} disabled=${busy} onClick=${run}>${confirmLabel}</button>
      </div>
    </dialog>
  </span>`;
}

// ---- States and bits ---------------------------------------------------------------------

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

export function ErrorBox({ error, retry }) {
  if (!error) return null;
  return html`<div class="error-box" role="alert">
    <p>${describeError(error)}</p>
    ${retry ? html`<button type="button" onClick=${retry}>Try again</button>` : null}
  </div>`;
}

export function CopyButton({ text, label = 'Copy' }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      toast('Copying was refused by the browser: select the text and copy it.', 'error');
    }
  };
  return html`<button type="button" class="copy" onClick=${copy}>${copied ? 'Copied' : label}</button>`;
}

/** A value shown once: the person is told it will not be shown again. */
export function Reveal({ title, value, onDone }) {
  return html`<div class="reveal" role="region" aria-label=${title}>
    <h3>${title}</h3>
    <p>Copy it now: it will not be shown again.</p>
    <div class="secret-row"><code class="secret" data-testid="revealed-secret">${value}</code><${CopyButton} text=${value} /></div>
    <button type="button" onClick=${onDone}>Done</button>
  </div>`;
}

export function Tabs({ tabs, current, onSelect }) {
  return html`<div class="tabs" role="tablist">
    ${tabs.map(([key, label]) => html`<button type="button" role="tab" aria-selected=${key === current}
      class=${key === current ? 'active' : ''} onClick=${() => onSelect(key)}>${label}</button>`)}
  </div>`;
}

/** Loads `load()` when `deps` change; answers {data, error, loading, reload}. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/**
 * A form's submit handler: runs `action`, keeps its error (and the fields it names) for the
 * form to show, and says whether it is running.
 */
export function useSubmit(action) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    if (event) event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { submit, error, busy, errors: fieldErrors(error) };
}

/** The error of a form whose fields do not show it themselves. */
export function FormError({ form }) {
  return form.error && !Object.keys(form.errors).length ? html`<${ErrorBox} error=${form.error} />` : null;
}
