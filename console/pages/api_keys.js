// @ts-check
// Tenant API keys: create with permissions, IP allow-list, rate limit and expiry; the key
// shown once; regenerate and revoke.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { Checkbox, ConfirmButton, Empty, ErrorBox, Field, FormError, Loading, Reveal, toast, toastError, useLoad, useSubmit } from '../ui.js';

const PERMISSIONS = [
  ['read:webhooks', 'Read endpoints'], ['write:webhooks', 'Create and change endpoints'],
  ['delete:webhooks', 'Delete endpoints'], ['read:logs', 'Read delivery logs'],
  ['write:events', 'Publish events'], ['read:events', 'Read Meta events'],
  ['send:messages', 'Send messages'], ['read:messages', 'Read messages'],
  ['read:contacts', 'Read contacts'], ['write:contacts', 'Change contacts'],
  ['delete:contacts', 'Erase contacts'], ['export:contacts', 'Export contacts'],
];

function CreateKey({ tenant, onCreated }) {
  const [name, setName] = useState('');
  const [permissions, setPermissions] = useState(['read:webhooks']);
  const [allowedIps, setAllowedIps] = useState('');
  const [rate, setRate] = useState('600');
  const [expiresAt, setExpiresAt] = useState('');
  const toggle = (p) => setPermissions(permissions.includes(p) ? permissions.filter((x) => x !== p) : [...permissions, p]);
  const form = useSubmit(async () => {
    const body = {
      name,
      permissions,
      rateLimitPerMinute: Number(rate),
      allowedIps: allowedIps.split(/[\s,]+/).filter(Boolean),
      // Left blank, the key expires a year from now.
      ...(expiresAt ? { expiresAt: new Date(`${expiresAt}T23:59:59Z`).toISOString() } : {}),
    };
    const issued = await api('POST', '/api/v1/api-keys', { tenant, body });
    toast(`Key ${issued.name} created`);
    setName('');
    onCreated(issued);
  });
  const { errors } = form;
  return html`<form class="card" onSubmit=${form.submit} aria-label="New API key">
    <h2>New API key</h2>
    <div class="row">
      <${Field} label="Name" value=${name} onInput=${setName} required error=${errors.name} />
      <${Field} label="Requests per minute" type="number" value=${rate} onInput=${setRate} error=${errors.rateLimitPerMinute} />
      <${Field} label="Expires on" type="date" value=${expiresAt} onInput=${setExpiresAt} error=${errors.expiresAt} hint="Blank: a year from today" />
    </div>
    <fieldset><legend>Permissions</legend>
      <${Checkbox} label="Everything (*)" checked=${permissions.includes('*')} onChange=${() => toggle('*')} />
      <div class="permissions">${PERMISSIONS.map(([p, label]) => html`<${Checkbox} key=${p} label=${`${label} (${p})`}
        checked=${permissions.includes(p)} onChange=${() => toggle(p)} />`)}</div>
    </fieldset>
    ${errors.permissions ? html`<p class="error" role="alert">${errors.permissions}</p>` : null}
    <${Field} label="Allowed addresses" value=${allowedIps} onInput=${setAllowedIps} error=${errors.allowedIps}
      hint="Optional: IP addresses or CIDR blocks, separated by spaces or commas" />
    <${FormError} form=${form} />
    <button class="primary" type="submit">Create key</button>
  </form>`;
}

export function ApiKeys({ tenant }) {
  const keys = useLoad(() => api('GET', '/api/v1/api-keys?limit=200', { tenant }), [tenant]);
  const [issued, setIssued] = useState(null);
  const regenerate = (key) => async () => {
    try {
      setIssued(await api('POST', `/api/v1/api-keys/${key.id}/regenerate`, { tenant }));
      keys.reload();
    } catch (e) {
      toastError(e);
    }
  };
  const revoke = (key) => async () => {
    try {
      await api('DELETE', `/api/v1/api-keys/${key.id}`, { tenant });
      toast(`${key.name} revoked`);
      keys.reload();
    } catch (e) {
      toastError(e);
    }
  };
  const list = (keys.data && keys.data.data) || [];
  return html`<section>
    <h1>API keys</h1>
    ${issued ? html`<${Reveal} title=${`API key ${issued.name}`} value=${issued.key} onDone=${() => setIssued(null)} />` : null}
    <${CreateKey} tenant=${tenant} onCreated=${(k) => { setIssued(k); keys.reload(); }} />
    ${keys.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${keys.error} retry=${keys.reload} />
    ${keys.data && !list.length ? html`<${Empty}>No API keys yet.<//>` : null}
    ${list.length ? html`<table>
      <thead><tr><th>Name</th><th>Key</th><th>Permissions</th><th>Status</th><th>Last used</th><th>Actions</th></tr></thead>
      <tbody>${list.map((k) => html`<tr key=${k.id}>
        <td>${k.name}</td><td class="mono">${k.prefix}…</td><td>${k.permissions.join(', ')}</td>
        <td><span class="badge badge-${k.status}">${k.status}</span></td>
        <td>${relativeTime(k.lastUsedAt)}</td>
        <td class="actions">${k.status === 'revoked' ? null : html`
          <${ConfirmButton} label="Regenerate" danger=${false} question=${`Regenerate ${k.name}? The current key stops working at once.`} onConfirm=${regenerate(k)} />
          <${ConfirmButton} label="Revoke" question=${`Revoke ${k.name}? It stops working at once.`} onConfirm=${revoke(k)} />`}</td>
      </tr>`)}</tbody>
    </table>` : null}
  </section>`;
}
