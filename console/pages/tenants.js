// @ts-check
// Platform admins: the tenants, with search and status, and creating one.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { Field, Empty, ErrorBox, FormError, Loading, toast, useLoad, useSubmit } from '../ui.js';

async function allTenants() {
  const tenants = [];
  let cursor = null;
  do {
    const page = await api('GET', `/api/platform/tenants?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    tenants.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor && tenants.length < 2000);
  return tenants;
}

function CreateTenant({ onCreated }) {
  const [name, setName] = useState('');
  const [contactEmail, setContactEmail] = useState('');
  const form = useSubmit(async () => {
    const tenant = await api('POST', '/api/platform/tenants', {
      body: { name, contactEmail: contactEmail || null },
    });
    toast(`Tenant ${tenant.name} created`);
    setName('');
    setContactEmail('');
    onCreated(tenant);
  });
  const { errors } = form;
  return html`<form class="card" onSubmit=${form.submit} aria-label="New tenant">
    <h2>New tenant</h2>
    <div class="row">
      <${Field} label="Name" value=${name} onInput=${setName} required error=${errors.name} />
      <${Field} label="Contact email" type="email" value=${contactEmail} onInput=${setContactEmail} error=${errors.contactEmail} />
    </div>
    <${FormError} form=${form} />
    <button class="primary" type="submit" disabled=${form.busy}>Create tenant</button>
  </form>`;
}

export function Tenants({ navigate }) {
  const tenants = useLoad(allTenants, []);
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('all');
  const shown = (tenants.data || []).filter((t) =>
    (status === 'all' || t.status === status) &&
    (!search || `${t.name} ${t.id} ${t.contactEmail || ''}`.toLowerCase().includes(search.toLowerCase())));
  return html`<section>
    <h1>Tenants</h1>
    <${CreateTenant} onCreated=${(t) => navigate(`#/tenants/${t.id}`)} />
    <div class="filters" role="search">
      <${Field} label="Search" value=${search} onInput=${setSearch} placeholder="name, id or email" />
      <div class="field"><label for="tenant-status">Status</label>
        <select id="tenant-status" onChange=${(e) => setStatus(e.target.value)}>
          <option value="all">All</option><option value="active">Active</option><option value="suspended">Suspended</option>
        </select></div>
    </div>
    ${tenants.loading ? html`<${Loading} what="Loading tenants" />` : null}
    <${ErrorBox} error=${tenants.error} retry=${tenants.reload} />
    ${tenants.data && !shown.length ? html`<${Empty}>${tenants.data.length ? 'No tenant matches.' : 'No tenants yet: create the first one above.'}<//>` : null}
    ${shown.length ? html`<table>
      <thead><tr><th>Name</th><th>Status</th><th>Contact</th><th>Created</th></tr></thead>
      <tbody>${shown.map((t) => html`<tr key=${t.id}>
        <td><a href="#/tenants/${t.id}">${t.name}</a><div class="muted mono">${t.id}</div></td>
        <td><span class="badge badge-${t.status}">${t.status}</span></td>
        <td>${t.contactEmail || '—'}</td>
        <td>${relativeTime(t.createdAt)}</td>
      </tr>`)}</tbody>
    </table>` : null}
  </section>`;
}
