// @ts-check
// Delivery logs of the tenant being acted for: filters, an attempt's detail, retry.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { endOfDay, relativeTime } from '../format.js';
import { AttemptDetail } from './attempt.js';
import { Empty, ErrorBox, Field, Loading, Select, toast, toastError, useLoad } from '../ui.js';

function query(filters) {
  const params = new URLSearchParams({ limit: '100' });
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  return params.toString();
}

export function Logs({ tenant, params }) {
  const [webhookId, setWebhookId] = useState(params.get('webhookId') || '');
  const [status, setStatus] = useState('');
  const [eventType, setEventType] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [open, setOpen] = useState(null);
  const filters = { webhookId, status, eventType, from, to: endOfDay(to) };
  const logs = useLoad(() => api('GET', `/api/v1/webhooks/logs?${query(filters)}`, { tenant }), [tenant, webhookId, status, eventType, from, to]);
  const [since, setSince] = useState(new Date(Date.now() - 86_400_000).toISOString().slice(0, 16));
  const recover = async () => {
    try {
      const done = await api('POST', `/api/v1/webhooks/${webhookId}/recover?since=${encodeURIComponent(new Date(`${since}Z`).toISOString())}`, { tenant });
      toast(`${done.recovered} failed event(s) queued for delivery again`);
      setTimeout(logs.reload, 1500);
    } catch (e) {
      toastError(e);
    }
  };
  const retry = (log) => async () => {
    try {
      await api('POST', `/api/v1/webhooks/logs/${log.id}/retry`, { tenant });
      toast('Retry queued: it appears here once delivered.');
      setTimeout(logs.reload, 1500);
    } catch (e) {
      toastError(e);
    }
  };
  const list = (logs.data && logs.data.data) || [];
  return html`<section>
    <h1>Delivery logs</h1>
    <div class="filters" role="search">
      <${Field} label="Endpoint id" value=${webhookId} onInput=${setWebhookId} placeholder="wh_…" />
      <${Select} label="Status" value=${status} onChange=${setStatus} options=${[['', 'Any'], ['success', 'Delivered'], ['failed', 'Failed']]} />
      <${Field} label="Event type" value=${eventType} onInput=${setEventType} placeholder="contact.created" />
      <${Field} label="From" type="date" value=${from} onInput=${setFrom} />
      <${Field} label="To" type="date" value=${to} onInput=${setTo} />
      <button type="button" onClick=${logs.reload}>Refresh</button>
    </div>
    ${webhookId ? html`<div class="card filters" aria-label="Recover">
      <${Field} label="Re-deliver everything that failed since (UTC)" type="datetime-local" value=${since} onInput=${setSince} />
      <button type="button" onClick=${recover}>Recover failed deliveries</button>
      <span class="muted">Also re-enables the endpoint and resets its failure count.</span>
    </div>` : null}
    ${logs.loading ? html`<${Loading} what="Loading deliveries" />` : null}
    <${ErrorBox} error=${logs.error} retry=${logs.reload} />
    ${logs.data && !list.length ? html`<${Empty}>No deliveries match.<//>` : null}
    ${list.length ? html`<table class="logs">
      <thead><tr><th>When</th><th>Event</th><th>Result</th><th>Time</th><th>Attempt</th><th></th></tr></thead>
      <tbody>${list.map((log) => html`<tr key=${log.id} class=${log.success ? '' : 'failed'}>
        <td title=${log.createdAt}>${relativeTime(log.createdAt)}</td>
        <td>${log.eventType}<div class="muted mono">${log.eventId}</div></td>
        <td><span class="badge badge-${log.status}">${log.statusCode ? `HTTP ${log.statusCode}` : log.status}</span>
          ${log.error ? html`<div class="muted">${log.error}</div>` : null}</td>
        <td>${log.responseTimeMs} ms</td>
        <td>${log.attempt}${log.willRetry ? ' (will retry)' : ''}</td>
        <td class="actions">
          <button type="button" aria-expanded=${open === log.id} onClick=${() => setOpen(open === log.id ? null : log.id)}>Details</button>
          ${log.success ? null : html`<button type="button" onClick=${retry(log)}>Retry</button>`}
        </td>
      </tr>`)}</tbody>
    </table>` : null}
    ${open ? html`<${AttemptDetail} key=${open} path=${`/api/v1/webhooks/logs/${open}`} tenant=${tenant} />` : null}
  </section>`;
}
