// @ts-check
// One tenant, for platform admins: its settings, integrations, people and audit log.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { Checkbox, ConfirmButton, ErrorBox, Field, FormError, Loading, Select, Tabs, toast, toastError, useLoad, useSubmit } from '../ui.js';
import { Integrations } from './integrations.js';
import { People } from './people.js';
import { Workflows } from './workflows.js';

function Settings({ tenant, onSaved, onDeleted }) {
  const [name, setName] = useState(tenant.name);
  const [contactEmail, setContactEmail] = useState(tenant.contactEmail || '');
  const [status, setStatus] = useState(tenant.status);
  const [failureAlerts, setFailureAlerts] = useState(tenant.failureAlerts !== false);
  const form = useSubmit(async () => {
    const saved = await api('PATCH', `/api/platform/tenants/${tenant.id}`, {
      body: { name, contactEmail: contactEmail || null, status, failureAlerts },
    });
    toast('Tenant saved');
    onSaved(saved);
  });
  const remove = async () => {
    try {
      await api('DELETE', `/api/platform/tenants/${tenant.id}`);
      toast(`${tenant.name} deleted`);
      onDeleted();
    } catch (e) {
      toastError(e);
    }
  };
  const { errors } = form;
  return html`<form class="card" onSubmit=${form.submit} aria-label="Tenant settings">
    <${Field} label="Name" value=${name} onInput=${setName} required error=${errors.name} />
    <${Field} label="Contact email" type="email" value=${contactEmail} onInput=${setContactEmail} error=${errors.contactEmail} />
    <${Select} label="Status" value=${status} onChange=${setStatus}
      options=${[['active', 'Active'], ['suspended', 'Suspended']]}
      hint="A suspended tenant's API keys and deliveries stop until it is active again." />
    <${Checkbox} label="Email the contact when an endpoint or workflow is disabled" checked=${failureAlerts}
      onChange=${setFailureAlerts} hint="At most one email per endpoint a day, with its last errors and how to turn it back on." />
    <${FormError} form=${form} />
    <div class="actions">
      <button class="primary" type="submit">Save</button>
      <${ConfirmButton} label="Delete tenant" confirmLabel="Delete for good"
        question=${`Delete ${tenant.name} and everything it holds (endpoints, logs, contacts, people)? This cannot be undone.`}
        onConfirm=${remove} />
    </div>
  </form>`;
}

function Audit({ tenantId }) {
  const [filter, setFilter] = useState('');
  const audit = useLoad(() => api('GET', `/api/platform/tenants/${tenantId}/audit?limit=200`), [tenantId]);
  const entries = ((audit.data && audit.data.data) || [])
    .filter((e) => !filter || `${e.action} ${e.actor} ${e.target}`.toLowerCase().includes(filter.toLowerCase()));
  return html`<section aria-label="Audit log">
    <${Field} label="Filter" value=${filter} onInput=${setFilter} placeholder="action, actor or target" />
    ${audit.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${audit.error} retry=${audit.reload} />
    <table><thead><tr><th>When</th><th>Who</th><th>What</th><th>Target</th><th>Fields</th></tr></thead>
      <tbody>${entries.map((e) => html`<tr key=${e.id}>
        <td title=${e.at}>${relativeTime(e.at)}</td><td>${e.actor}</td><td>${e.action}</td>
        <td class="mono">${e.target}</td><td>${(e.fields || []).join(', ')}</td></tr>`)}</tbody></table>
  </section>`;
}

export function Tenant({ tenantId, navigate, actFor }) {
  const [tab, setTab] = useState('integrations');
  const tenant = useLoad(() => api('GET', `/api/platform/tenants/${tenantId}`), [tenantId]);
  const [saved, setSaved] = useState(null);
  const current = saved || tenant.data;
  if (tenant.loading && !current) return html`<${Loading} what="Loading the tenant" />`;
  if (tenant.error) return html`<${ErrorBox} error=${tenant.error} retry=${tenant.reload} />`;
  return html`<section>
    <p><a href="#/tenants">← Tenants</a></p>
    <h1>${current.name} <span class="badge badge-${current.status}">${current.status}</span></h1>
    <p class="muted mono">${current.id}</p>
    <p><button type="button" onClick=${() => actFor(current)}>Act for this tenant</button>
      <span class="muted"> Endpoints, logs, Meta, contacts, messages and API keys, as its admins see them.</span></p>
    <${Tabs} current=${tab} onSelect=${setTab}
      tabs=${[['integrations', 'Integrations'], ['workflows', 'n8n workflows'], ['people', 'People'], ['settings', 'Settings'], ['audit', 'Audit log']]} />
    ${tab === 'integrations' ? html`<${Integrations} tenantId=${tenantId} />` : null}
    ${tab === 'workflows' ? html`<${Workflows} tenantId=${tenantId} />` : null}
    ${tab === 'people' ? html`<${People} base=${`/api/platform/tenants/${tenantId}/users`} />` : null}
    ${tab === 'settings' ? html`<${Settings} tenant=${current} onSaved=${setSaved} onDeleted=${() => navigate('#/tenants')} />` : null}
    ${tab === 'audit' ? html`<${Audit} tenantId=${tenantId} />` : null}
  </section>`;
}
