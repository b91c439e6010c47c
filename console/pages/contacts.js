// @ts-check
// The contact book of the tenant being acted for: search and filters, pages, a contact's
// detail, consent, erasure, and CSV or JSON exports with the same filters.

import { html, useState } from '../vendor/preact-htm.js';
import { api, download } from '../api.js';
import { relativeTime } from '../format.js';
import { Checkbox, ConfirmButton, Empty, ErrorBox, Field, Loading, Select, toast, toastError, useLoad } from '../ui.js';

function filterParams({ search, hasTag, optedIn, consentOnly }) {
  const params = new URLSearchParams();
  if (search) params.set('search', search);
  if (hasTag) params.set('hasTag', hasTag);
  if (optedIn) params.set('optedIn', optedIn);
  if (consentOnly) params.set('exportConsentOnly', 'true');
  return params;
}

function ContactDetail({ tenant, contact, onChanged }) {
  const setConsent = async (exportConsent) => {
    try {
      await api('PATCH', `/api/v1/contacts/${contact.id}`, { tenant, body: { exportConsent } });
      toast(exportConsent ? 'Export consent recorded' : 'Export consent withdrawn');
      onChanged();
    } catch (e) {
      toastError(e);
    }
  };
  const erase = async () => {
    try {
      const done = await api('DELETE', `/api/v1/contacts/${contact.id}`, { tenant });
      toast(`Contact deleted; erasing their history (erasure ${done.erasure.id})`);
      onChanged(true);
    } catch (e) {
      toastError(e);
    }
  };
  return html`<div class="card" role="region" aria-label="Contact detail">
    <h3>${contact.name || contact.username || contact.externalId}</h3>
    <dl class="facts">
      <dt>Channel</dt><dd>${contact.channel}</dd><dt>ID</dt><dd class="mono">${contact.externalId}</dd>
      <dt>Phone</dt><dd>${contact.phone || '—'}</dd><dt>Email</dt><dd>${contact.email || '—'}</dd>
      <dt>Tags</dt><dd>${(contact.tags || []).join(', ') || '—'}</dd>
      <dt>Opted in</dt><dd>${contact.optedIn ? 'yes' : 'no'}</dd>
      <dt>First seen</dt><dd>${contact.createdAt}</dd><dt>Last updated</dt><dd>${contact.updatedAt}</dd>
    </dl>
    <${Checkbox} label="Consents to exports" checked=${!!contact.exportConsent} onChange=${setConsent} />
    <${ConfirmButton} label="Erase contact" question="Erase this contact and its history? This cannot be undone." onConfirm=${erase} />
  </div>`;
}

export function Contacts({ tenant }) {
  const [search, setSearch] = useState('');
  const [hasTag, setHasTag] = useState('');
  const [optedIn, setOptedIn] = useState('');
  const [consentOnly, setConsentOnly] = useState(false);
  const [cursors, setCursors] = useState([null]);
  const [open, setOpen] = useState(null);
  const filters = filterParams({ search, hasTag, optedIn, consentOnly });
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => {
    const params = new URLSearchParams(filters);
    params.set('limit', '50');
    if (cursor) params.set('cursor', cursor);
    return api('GET', `/api/v1/contacts?${params}`, { tenant });
  }, [tenant, filters.toString(), cursor]);
  const list = (page.data && page.data.data) || [];
  const exportAs = async (format) => {
    try {
      await download(`/api/v1/export/contacts.${format}?${filters}`, `contacts.${format}`, { tenant });
      toast(`Contacts exported as ${format.toUpperCase()}`);
    } catch (e) {
      toastError(e);
    }
  };
  const reset = () => setCursors([null]);
  return html`<section>
    <h1>Contacts</h1>
    <div class="filters" role="search">
      <${Field} label="Search" value=${search} onInput=${(v) => { setSearch(v); reset(); }} placeholder="name, phone, email" />
      <${Field} label="Tag" value=${hasTag} onInput=${(v) => { setHasTag(v); reset(); }} />
      <${Select} label="Opted in" value=${optedIn} onChange=${(v) => { setOptedIn(v); reset(); }} options=${[['', 'Any'], ['true', 'Yes'], ['false', 'No']]} />
      <${Checkbox} label="Export consent only" checked=${consentOnly} onChange=${(v) => { setConsentOnly(v); reset(); }} />
    </div>
    <div class="actions">
      <button type="button" onClick=${() => exportAs('csv')}>Export CSV</button>
      <button type="button" onClick=${() => exportAs('json')}>Export JSON</button>
      <span class="muted">Exports use these filters and are recorded in the export audit.</span>
    </div>
    ${page.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${page.error} retry=${page.reload} />
    ${page.data && !list.length ? html`<${Empty}>No contacts match. Contacts appear as people message the tenant on WhatsApp or Instagram.<//>` : null}
    ${list.length ? html`<table><thead><tr><th>Name</th><th>Channel</th><th>Phone</th><th>Tags</th><th>Updated</th></tr></thead>
      <tbody>${list.map((c) => html`<tr key=${c.id}>
        <td><button type="button" class="link" onClick=${() => setOpen(open && open.id === c.id ? null : c)}>${c.name || c.username || c.externalId}</button></td>
        <td>${c.channel}</td><td>${c.phone || '—'}</td><td>${(c.tags || []).join(', ')}</td><td>${relativeTime(c.updatedAt)}</td>
      </tr>`)}</tbody></table>` : null}
    <div class="actions">
      ${cursors.length > 1 ? html`<button type="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>` : null}
      ${page.data && page.data.nextCursor ? html`<button type="button" onClick=${() => setCursors([...cursors, page.data.nextCursor])}>Next</button>` : null}
    </div>
    ${open ? html`<${ContactDetail} tenant=${tenant} contact=${open} onChanged=${(gone) => { if (gone) setOpen(null); page.reload(); }} />` : null}
  </section>`;
}
