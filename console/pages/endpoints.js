// @ts-check
// Webhook endpoints of the tenant being acted for: health, create with the event picker,
// the signing secret shown once, rotate, enable and disable, send a test event, delete.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { eventChoices, relativeTime, successRateClass } from '../format.js';
import { TimeChart } from '../chart.js';
import { Checkbox, ConfirmButton, Empty, ErrorBox, Field, FormError, Loading, Reveal, Select, toast, toastError, useLoad, useSubmit } from '../ui.js';

export function EventPicker({ catalog, selected, onChange }) {
  const toggle = (pattern) => onChange(selected.includes(pattern)
    ? selected.filter((p) => p !== pattern)
    : [...selected, pattern]);
  return html`<fieldset class="event-picker">
    <legend>Events</legend>
    <${Checkbox} label="Every event (*)" checked=${selected.includes('*')} onChange=${() => toggle('*')} />
    ${eventChoices(catalog).map((group) => {
      const chosen = group.types.filter((t) => selected.includes(t)).length;
      return html`<div class="event-group" key=${group.prefix}>
        <${Checkbox} label=${`All ${group.prefix} events (${group.wildcard})`} checked=${selected.includes(group.wildcard)}
          onChange=${() => toggle(group.wildcard)} />
        <details open=${chosen > 0}><summary>${group.types.length} ${group.prefix} event types${chosen ? `, ${chosen} chosen` : ''}</summary>
          <div class="event-types">${group.types.map((type) => html`<${Checkbox} key=${type} label=${type}
            checked=${selected.includes(type)} onChange=${() => toggle(type)} />`)}</div>
        </details>
      </div>`;
    })}
  </fieldset>`;
}

function CreateEndpoint({ tenant, catalog, onCreated }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState([]);
  const form = useSubmit(async () => {
    const created = await api('POST', '/api/v1/webhooks', { tenant, body: { name, url, events } });
    toast(`Endpoint ${created.name} created`);
    setName('');
    setUrl('');
    setEvents([]);
    onCreated(created);
  });
  const { errors } = form;
  return html`<form class="card" onSubmit=${form.submit} aria-label="New endpoint">
    <h2>New endpoint</h2>
    <div class="row">
      <${Field} label="Name" value=${name} onInput=${setName} required error=${errors.name} />
      <${Field} label="URL" type="url" value=${url} onInput=${setUrl} required error=${errors.url}
        placeholder="https://example.com/webhooks/hookhub" />
    </div>
    <${EventPicker} catalog=${catalog} selected=${events} onChange=${setEvents} />
    ${errors.events ? html`<p class="error" role="alert">${errors.events}</p>` : null}
    <${FormError} form=${form} />
    <button class="primary" type="submit">Create endpoint</button>
  </form>`;
}

function TestEvent({ tenant, endpoint, catalog }) {
  const types = (catalog || []).map((e) => e.type);
  const [type, setType] = useState(types[0] || 'webhook.test');
  const sampleOf = (t) => JSON.stringify(((catalog || []).find((e) => e.type === t) || {}).sample || {}, null, 2);
  const [data, setData] = useState(sampleOf(type));
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setError(null);
    setResult(null);
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      setError({ message: 'The payload is not valid JSON.' });
      return;
    }
    setBusy(true);
    try {
      setResult(await api('POST', `/api/v1/webhooks/${endpoint.id}/test`, { tenant, body: { eventType: type, data: parsed } }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="card" aria-label="Send a test event">
    <h3>Send a test event</h3>
    <${Select} label="Event type" value=${type} onChange=${(t) => { setType(t); setData(sampleOf(t)); }}
      options=${types.map((t) => [t, t])} />
    <${Field} label="Payload (data)" multiline value=${data} onInput=${setData} />
    <button type="button" class="primary" disabled=${busy} onClick=${send}>Send test event</button>
    <${ErrorBox} error=${error} />
    ${result ? html`<div class=${`test-result ${result.success ? 'ok' : 'bad'}`} role="status">
      <p><strong>${result.success ? 'Delivered' : 'Failed'}</strong>
        ${result.statusCode ? ` · HTTP ${result.statusCode}` : ''} · ${result.responseTimeMs} ms</p>
      ${result.error ? html`<p>${result.error}</p>` : null}
      ${result.responseBody ? html`<pre>${result.responseBody}</pre>` : null}
      <p class="muted">Logged as <a href="#/logs?webhookId=${endpoint.id}">${result.logId}</a></p>
    </div>` : null}
  </div>`;
}

/** The last 24 hours of one endpoint: deliveries and failures per hour, and latency. */
function HourlyStats({ hours }) {
  if (!hours || !hours.length) return html`<p class="muted">No deliveries in the last 24 hours.</p>`;
  const times = hours.map((h) => Date.parse(`${h.hour}:00:00Z`) / 1000);
  return html`<div class="row">
    <${TimeChart} title="Deliveries per hour, last 24 hours" times=${times}
      series=${[{ label: 'delivered', values: hours.map((h) => h.successful || 0) }, { label: 'failed', values: hours.map((h) => h.failed || 0) }]} />
    <${TimeChart} title="Average response time per hour (ms)" times=${times}
      series=${[{ label: 'ms', values: hours.map((h) => (h.total ? Math.round((h.responseMs || 0) / h.total) : null)) }]} />
  </div>`;
}

function EndpointRow({ tenant, endpoint, catalog, onChanged }) {
  const [open, setOpen] = useState(false);
  const [showStats, setShowStats] = useState(false);
  const [secret, setSecret] = useState(null);
  const stats = useLoad(() => api('GET', `/api/v1/webhooks/${endpoint.id}/stats`, { tenant }), [endpoint.id, endpoint.updatedAt]);
  const s = stats.data;
  const setActive = async (isActive) => {
    try {
      await api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { tenant, body: { isActive } });
      toast(isActive ? 'Endpoint enabled' : 'Endpoint disabled');
      onChanged();
    } catch (e) {
      toastError(e);
    }
  };
  const rotate = async () => {
    try {
      const rotated = await api('POST', `/api/v1/webhooks/${endpoint.id}/rotate-secret`, { tenant, body: {} });
      setSecret(rotated.secret);
    } catch (e) {
      toastError(e);
    }
  };
  const remove = async () => {
    try {
      await api('DELETE', `/api/v1/webhooks/${endpoint.id}`, { tenant });
      toast(`${endpoint.name} deleted`);
      onChanged();
    } catch (e) {
      toastError(e);
    }
  };
  return html`<li class="endpoint card">
    <div class="endpoint-head">
      <div>
        <h3>${endpoint.name} <span class="badge badge-${endpoint.isActive ? 'active' : 'disabled'}">${endpoint.isActive ? 'active' : 'disabled'}</span></h3>
        <p class="mono">${endpoint.url}</p>
        <p class="muted">${endpoint.events.join(', ')}</p>
        ${endpoint.disabledReason ? html`<p class="error">Disabled: ${endpoint.disabledReason}</p>` : null}
      </div>
      <div class="health">
        ${s ? html`<span class=${`rate ${successRateClass(s.successRate)}`}>${s.successRate === null || s.successRate === undefined ? 'no deliveries' : `${s.successRate}% delivered`}</span>
          <span class="muted">last ${relativeTime(s.lastCalledAt)}</span>` : null}
      </div>
    </div>
    ${secret ? html`<${Reveal} title="New signing secret" value=${secret} onDone=${() => setSecret(null)} />` : null}
    <div class="actions">
      <button type="button" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? 'Close' : 'Test'}</button>
      <button type="button" aria-expanded=${showStats} onClick=${() => setShowStats(!showStats)}>${showStats ? 'Hide stats' : 'Stats'}</button>
      <a class="button" href="#/logs?webhookId=${endpoint.id}">Logs</a>
      ${endpoint.isActive
        ? html`<button type="button" onClick=${() => setActive(false)}>Disable</button>`
        : html`<button type="button" onClick=${() => setActive(true)}>Enable</button>`}
      <${ConfirmButton} label="Rotate secret" danger=${false} question="Rotate the signing secret? The old one keeps working for 24 hours." onConfirm=${rotate} />
      <${ConfirmButton} label="Delete" question=${`Delete ${endpoint.name}? Deliveries to it stop at once.`} onConfirm=${remove} />
    </div>
    ${showStats && s ? html`<${HourlyStats} hours=${s.last24Hours} />` : null}
    ${open ? html`<${TestEvent} tenant=${tenant} endpoint=${endpoint} catalog=${catalog} />` : null}
  </li>`;
}

export function Endpoints({ tenant }) {
  const endpoints = useLoad(() => api('GET', '/api/v1/webhooks?limit=200', { tenant }), [tenant]);
  const catalog = useLoad(() => api('GET', '/api/v1/webhooks/events', { tenant }), [tenant]);
  const [created, setCreated] = useState(null);
  const list = (endpoints.data && endpoints.data.data) || [];
  const events = (catalog.data && catalog.data.data) || [];
  return html`<section>
    <h1>Webhook endpoints</h1>
    ${created ? html`<${Reveal} title=${`Signing secret of ${created.name}`} value=${created.secret} onDone=${() => setCreated(null)} />` : null}
    <${CreateEndpoint} tenant=${tenant} catalog=${events} onCreated=${(e) => { setCreated(e); endpoints.reload(); }} />
    ${endpoints.loading ? html`<${Loading} what="Loading endpoints" />` : null}
    <${ErrorBox} error=${endpoints.error} retry=${endpoints.reload} />
    ${endpoints.data && !list.length ? html`<${Empty}>No endpoints yet. Create one above to receive events.<//>` : null}
    <ul class="endpoints">${list.map((e) => html`<${EndpointRow} key=${e.id} tenant=${tenant} endpoint=${e} catalog=${events} onChanged=${endpoints.reload} />`)}</ul>
  </section>`;
}
