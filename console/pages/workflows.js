// @ts-check
// A tenant's n8n workflow webhooks, for platform admins: list, create, edit (the workflow
// name stays), delete, call one, and the analytics dashboard that refreshes itself.

import { html, useEffect, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { relativeTime, successRateClass } from '../format.js';
import { Checkbox, ConfirmButton, Empty, ErrorBox, Field, FormError, Loading, Select, toast, toastError, useLoad, useSubmit } from '../ui.js';
import { AttemptDetail } from './attempt.js';
import { EventPicker } from './endpoints.js';

const RANGES = [['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];
const REFRESH_MS = 30_000;

/** Reloads every 30 s while the tab is visible, and at once when it becomes visible. */
function useAutoRefresh(reload) {
  useEffect(() => {
    const tick = () => document.visibilityState === 'visible' && reload();
    const timer = setInterval(tick, REFRESH_MS);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
    };
  }, []);
}

/** @typedef {`/api/platform/tenants/${string}/webhooks`} WorkflowsBase */

/**
 * @param {{base: WorkflowsBase, catalog: any, workflow?: any, onSaved: (w: any) => void,
 *   onCancel?: () => void}} props
 */
function WorkflowForm({ base, catalog, workflow, onSaved, onCancel }) {
  const [workflowName, setWorkflowName] = useState(workflow ? workflow.workflowName : '');
  const [webhookUrl, setWebhookUrl] = useState(workflow ? workflow.webhookUrl : '');
  const [description, setDescription] = useState((workflow && workflow.description) || '');
  const [authToken, setAuthToken] = useState('');
  const [isActive, setIsActive] = useState(workflow ? workflow.isActive : true);
  const [events, setEvents] = useState(workflow ? workflow.events : []);
  const form = useSubmit(async () => {
    const body = { webhookUrl, description: description || null, isActive, events };
    if (authToken) body.authToken = authToken;
    const saved = workflow
      ? await api('PUT', `${base}/${workflow.id}`, { body })
      : await api('POST', base, { body: { ...body, workflowName } });
    toast(`Workflow ${saved.workflowName} saved`);
    onSaved(saved);
  });
  const { errors } = form;
  return html`<form class="card" onSubmit=${form.submit} aria-label=${workflow ? `Edit ${workflow.workflowName}` : 'New workflow webhook'}>
    <h3>${workflow ? `Edit ${workflow.workflowName}` : 'New workflow webhook'}</h3>
    <div class="row">
      <${Field} label="Workflow name" value=${workflowName} onInput=${setWorkflowName} required readOnly=${!!workflow}
        error=${errors.workflowName} hint=${workflow ? 'The name cannot change: callers use it.' : 'Letters, digits, _ . -'} />
      <${Field} label="n8n webhook URL" value=${webhookUrl} onInput=${setWebhookUrl} required error=${errors.webhookUrl}
        hint="A whole https URL, or a path such as /webhook/orders on the n8n base URL of the tenant's integration" />
    </div>
    <div class="row">
      <${Field} label="Description" value=${description} onInput=${setDescription} error=${errors.description} />
      <${Field} label="Auth token" type="password" autocomplete="off" value=${authToken} onInput=${setAuthToken}
        error=${errors.authToken} placeholder=${workflow && workflow.authToken ? `${workflow.authToken} (leave blank to keep)` : ''}
        hint="Sent to n8n as a bearer token" />
    </div>
    <${Checkbox} label="Active" checked=${isActive} onChange=${setIsActive} />
    <${EventPicker} catalog=${catalog} selected=${events} onChange=${setEvents} />
    <${FormError} form=${form} />
    <div class="actions">
      <button class="primary" type="submit" disabled=${form.busy}>Save</button>
      ${onCancel ? html`<button type="button" onClick=${onCancel}>Cancel</button>` : null}
    </div>
  </form>`;
}

/** @param {{base: WorkflowsBase, workflow: any}} props */
function CallWorkflow({ base, workflow }) {
  const [payload, setPayload] = useState('{\n  "hello": "n8n"\n}');
  const [wait, setWait] = useState(true);
  const [result, setResult] = useState(null);
  const call = useSubmit(async () => {
    let data;
    try {
      data = JSON.parse(payload);
    } catch {
      throw { message: 'The payload is not valid JSON.' };
    }
    setResult(await api('POST', `${base}/${workflow.id}/call${wait ? '?wait=true' : ''}`, { body: data }));
  });
  return html`<div class="card" aria-label=${`Call ${workflow.workflowName}`}>
    <${Field} label="Payload" multiline value=${payload} onInput=${setPayload} />
    <${Checkbox} label="Wait for the workflow's answer (up to 20 s)" checked=${wait} onChange=${setWait} />
    <button type="button" class="primary" disabled=${call.busy} onClick=${call.submit}>Call workflow</button>
    <${FormError} form=${call} />
    ${result && result.deliveries ? html`<p role="status">Queued as event <span class="mono">${result.eventId}</span>${': '}
      ${result.deliveries.length} ${result.deliveries.length === 1 ? 'delivery' : 'deliveries'}; the result appears in the recent calls below.</p>` : null}
    ${result && !result.deliveries ? html`<div role="status" aria-label="Workflow answer">
      <p><span class="badge badge-${result.success ? 'success' : 'failed'}">${result.statusCode ? `HTTP ${result.statusCode}` : 'no answer'}</span>
        ${' '}${result.durationMs} ms${result.error ? html` · <span class="bad">${result.error}</span>` : null}</p>
      ${result.body ? html`<pre aria-label="Answer body">${result.body}</pre>` : null}
      ${result.bodyTruncated ? html`<p class="muted">Only the first 64 KiB are shown.</p>` : null}
    </div>` : null}
  </div>`;
}

function Analytics({ tenantId, workflows }) {
  const [range, setRange] = useState('24h');
  const [webhookId, setWebhookId] = useState('');
  const base = /** @type {const} */ (`/api/platform/tenants/${tenantId}/webhooks/analytics`);
  const summary = useLoad(() => api('GET', `${base}/summary?range=${range}${webhookId ? `&webhookId=${webhookId}` : ''}`), [range, webhookId]);
  const [status, setStatus] = useState('');
  const [open, setOpen] = useState(null);
  const filters = new URLSearchParams({ range });
  if (webhookId) filters.set('webhookId', webhookId);
  if (status) filters.set('status', status);
  const recent = useLoad(() => api('GET', `${base}/recent?${filters}`), [range, webhookId, status]);
  useAutoRefresh(() => {
    summary.reload();
    recent.reload();
  });
  const s = summary.data;
  const calls = (recent.data && recent.data.data) || [];
  return html`<section aria-label="Workflow analytics">
    <h2>Analytics</h2>
    <div class="filters">
      <${Select} label="Webhook" value=${webhookId} onChange=${setWebhookId}
        options=${[['', 'All workflows'], ...workflows.map((w) => [w.id, w.workflowName])]} />
      <${Select} label="Range" value=${range} onChange=${setRange} options=${RANGES} />
      <${Select} label="Result" value=${status} onChange=${setStatus} options=${[['', 'Any'], ['success', 'Succeeded'], ['failed', 'Failed']]} />
      <button type="button" onClick=${() => { summary.reload(); recent.reload(); }}>Refresh</button>
      <span class="muted">Refreshes every 30 s while this tab is visible.</span>
    </div>
    <${ErrorBox} error=${summary.error} retry=${summary.reload} />
    ${s ? html`<div class="cards">
      <div class="card stat"><span>Total calls</span><strong>${s.totalCalls}</strong></div>
      <div class="card stat"><span>Successful</span><strong>${s.successfulCalls}</strong></div>
      <div class="card stat"><span>Failed</span><strong>${s.failedCalls}</strong></div>
      <div class="card stat"><span>Average response</span><strong>${s.averageResponseTimeMs === null ? '—' : `${s.averageResponseTimeMs} ms`}</strong></div>
    </div>
    <table aria-label="Per webhook"><thead><tr><th>Workflow</th><th>Calls</th><th>Success rate</th><th>Average</th><th>Last call</th></tr></thead>
      <tbody>${s.webhooks.map((w) => html`<tr key=${w.webhookId}><td>${w.workflowName}</td><td>${w.totalCalls}</td>
        <td class=${successRateClass(w.successRate)}>${w.successRate === null ? '—' : `${w.successRate}%`}</td>
        <td>${w.averageResponseTimeMs === null ? '—' : `${w.averageResponseTimeMs} ms`}</td><td>${relativeTime(w.lastCalledAt)}</td></tr>`)}</tbody></table>` : null}
    <h3>Recent calls</h3>
    ${recent.data && !calls.length ? html`<${Empty}>No calls yet.<//>` : null}
    ${calls.length ? html`<table aria-label="Recent calls"><thead><tr><th>When</th><th>Workflow</th><th>Event</th><th>Result</th><th>Time</th><th></th></tr></thead>
      <tbody>${calls.map((c) => html`<tr key=${c.id}><td>${relativeTime(c.createdAt)}</td><td>${c.workflowName}</td><td>${c.eventType}</td>
        <td><span class="badge badge-${c.status}">${c.statusCode ? `HTTP ${c.statusCode}` : c.status}</span></td><td>${c.responseTimeMs} ms</td>
        <td class="actions"><button type="button" aria-expanded=${open === c.id} onClick=${() => setOpen(open === c.id ? null : c.id)}>Details</button></td></tr>`)}</tbody></table>` : null}
    ${open ? html`<${AttemptDetail} key=${open} path=${`/api/platform/tenants/${tenantId}/webhooks/logs/${open}`} />` : null}
  </section>`;
}

export function Workflows({ tenantId }) {
  const base = /** @type {WorkflowsBase} */ (`/api/platform/tenants/${tenantId}/webhooks`);
  const workflows = useLoad(() => api('GET', `${base}?limit=200`), [tenantId]);
  const catalog = useLoad(() => api('GET', '/api/v1/webhooks/events', { tenant: tenantId }), [tenantId]);
  const [editing, setEditing] = useState(null);
  const [calling, setCalling] = useState(null);
  const [created, setCreated] = useState(0);
  const list = (workflows.data && workflows.data.data) || [];
  const events = (catalog.data && catalog.data.data) || [];
  const remove = (w) => async () => {
    try {
      await api('DELETE', `${base}/${w.id}`);
      toast(`${w.workflowName} deleted`);
      workflows.reload();
    } catch (e) {
      toastError(e);
    }
  };
  return html`<section aria-label="n8n workflows">
    <${WorkflowForm} key=${`new-${created}`} base=${base} catalog=${events}
      onSaved=${() => { setCreated(created + 1); workflows.reload(); }} />
    ${workflows.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${workflows.error} retry=${workflows.reload} />
    ${workflows.data && !list.length ? html`<${Empty}>No workflow webhooks yet.<//>` : null}
    ${list.length ? html`<table aria-label="Workflow webhooks"><thead><tr><th>Workflow</th><th>URL</th><th>Events</th><th>Status</th><th>Actions</th></tr></thead>
      <tbody>${list.map((w) => html`<tr key=${w.id}><td>${w.workflowName}</td><td class="mono">${w.webhookUrl}</td>
        <td>${w.events.join(', ') || '—'}</td><td><span class="badge badge-${w.isActive ? 'active' : 'disabled'}">${w.isActive ? 'active' : 'inactive'}</span></td>
        <td class="actions"><button type="button" onClick=${() => setCalling(calling === w.id ? null : w.id)}>Call</button>
          <button type="button" onClick=${() => setEditing(w)}>Edit</button>
          <${ConfirmButton} label="Delete" question=${`Delete the workflow webhook ${w.workflowName}?`} onConfirm=${remove(w)} /></td></tr>`)}</tbody></table>` : null}
    ${calling ? html`<${CallWorkflow} base=${base} workflow=${list.find((w) => w.id === calling)} />` : null}
    ${editing ? html`<${WorkflowForm} key=${editing.id} base=${base} catalog=${events} workflow=${editing}
      onSaved=${() => { setEditing(null); workflows.reload(); }} onCancel=${() => setEditing(null)} />` : null}
    ${list.length ? html`<${Analytics} tenantId=${tenantId} workflows=${list} />` : null}
  </section>`;
}
