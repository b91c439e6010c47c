// @ts-check
// What the tenant published, and hookhub for it: events newest first with filters, and one
// event with where each of its deliveries stands, down to an attempt's request and response.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { endOfDay, relativeTime } from '../format.js';
import { AttemptDetail } from './attempt.js';
import { Empty, ErrorBox, Field, Loading, Select, useLoad } from '../ui.js';

function query(filters) {
  const params = new URLSearchParams({ limit: '100' });
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  return params.toString();
}

function EventDetail({ tenant, id }) {
  const event = useLoad(() => api('GET', `/api/v1/events/${id}`, { tenant }), [id]);
  const [attempt, setAttempt] = useState(null);
  const e = event.data;
  return html`<div class="card detail" role="region" aria-label="Event detail">
    ${event.loading ? html`<${Loading} what="Loading the event" />` : null}
    <${ErrorBox} error=${event.error} retry=${event.reload} />
    ${e ? html`<h3><span class="mono">${e.type}</span> from ${e.source}</h3>
      <p class="muted mono">${e.id} · ${e.createdAt}</p>
      <pre aria-label="Event data">${JSON.stringify(e.data, null, 2)}</pre>
      <h4>Deliveries</h4>
      ${e.deliveries.length ? html`<table aria-label="Deliveries"><thead><tr><th>To</th><th>Status</th><th>Attempts</th><th>Last answer</th><th></th></tr></thead>
        <tbody>${e.deliveries.map((d) => html`<tr key=${d.deliveryId}>
          <td class="mono">${d.webhookId}</td>
          <td><span class="badge badge-${d.status === 'success' ? 'success' : 'failed'}">${d.status}</span></td>
          <td>${d.attempts}</td>
          <td>${d.lastAttempt.statusCode ? `HTTP ${d.lastAttempt.statusCode}` : d.lastAttempt.error || '—'} · ${relativeTime(d.lastAttempt.at)}</td>
          <td class="actions"><button type="button" onClick=${() => setAttempt(d.lastAttempt.logId)}>Last attempt</button></td>
        </tr>`)}</tbody></table>`
        : html`<p class="muted">No delivery attempted yet: deliveries appear here once first tried.</p>`}
      ${attempt ? html`<${AttemptDetail} key=${attempt} path=${`/api/v1/webhooks/logs/${attempt}`} tenant=${tenant} />` : null}` : null}
  </div>`;
}

export function Events({ tenant }) {
  const [type, setType] = useState('');
  const [source, setSource] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [open, setOpen] = useState(null);
  const events = useLoad(
    () => api('GET', `/api/v1/events?${query({ type, source, from, to: endOfDay(to) })}`, { tenant }),
    [tenant, type, source, from, to],
  );
  const list = (events.data && events.data.data) || [];
  return html`<section>
    <h1>Events</h1>
    <div class="filters" role="search">
      <${Field} label="Type" value=${type} onInput=${setType} placeholder="contact.* or contact.created" />
      <${Select} label="Source" value=${source} onChange=${setSource}
        options=${[['', 'Any'], ['api', 'Published (api)'], ['meta', 'Meta'], ['hookhub', 'hookhub']]} />
      <${Field} label="From" type="date" value=${from} onInput=${setFrom} />
      <${Field} label="To" type="date" value=${to} onInput=${setTo} />
      <button type="button" onClick=${events.reload}>Refresh</button>
    </div>
    ${events.loading ? html`<${Loading} what="Loading events" />` : null}
    <${ErrorBox} error=${events.error} retry=${events.reload} />
    ${events.data && !list.length ? html`<${Empty}>No events match.<//>` : null}
    ${list.length ? html`<table aria-label="Events"><thead><tr><th>When</th><th>Type</th><th>Source</th><th></th></tr></thead>
      <tbody>${list.map((e) => html`<tr key=${e.id}>
        <td title=${e.createdAt}>${relativeTime(e.createdAt)}</td>
        <td>${e.type}<div class="muted mono">${e.id}</div></td>
        <td>${e.source}</td>
        <td class="actions"><button type="button" aria-expanded=${open === e.id} onClick=${() => setOpen(open === e.id ? null : e.id)}>Deliveries</button></td>
      </tr>`)}</tbody></table>` : null}
    ${open ? html`<${EventDetail} key=${open} tenant=${tenant} id=${open} />` : null}
  </section>`;
}
