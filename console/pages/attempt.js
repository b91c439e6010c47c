// @ts-check
// One delivery attempt as the receiver saw it: the request (URL, signed headers, the exact
// body) and the response (status, headers, body, time, error).

import { html } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { ErrorBox, Loading, useLoad } from '../ui.js';

function Headers({ headers, label }) {
  const entries = Object.entries(headers || {});
  if (!entries.length) return html`<p class="muted">No headers recorded.</p>`;
  return html`<table class="headers" aria-label=${label}><tbody>
    ${entries.map(([name, value]) => html`<tr key=${name}><th class="mono">${name}</th><td class="mono">${value}</td></tr>`)}
  </tbody></table>`;
}

/** A body shown as sent: indented when it is JSON, as is otherwise. */
function Body({ text, label }) {
  if (text === null || text === undefined || text === '') return html`<p class="muted">${label}: none</p>`;
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON: shown as received.
  }
  return html`<pre aria-label=${label}>${shown}</pre>`;
}

/**
 * @param {{
 *   path: `/api/v1/webhooks/logs/${string}` | `/api/platform/tenants/${string}/webhooks/logs/${string}`,
 *   tenant?: string,
 * }} props
 */
export function AttemptDetail({ path, tenant }) {
  const attempt = useLoad(() => api('GET', path, { tenant }), [path]);
  const a = attempt.data;
  return html`<div class="card detail" role="region" aria-label="Attempt detail">
    ${attempt.loading ? html`<${Loading} what="Loading the attempt" />` : null}
    <${ErrorBox} error=${attempt.error} retry=${attempt.reload} />
    ${a ? html`<h3>Attempt ${a.attempt} of <span class="mono">${a.eventType}</span></h3>
      <p class="muted mono">${a.id} · event ${a.eventId} · ${a.createdAt}</p>
      <h4>Request</h4>
      <p class="mono">${a.request.method} ${a.request.url}</p>
      <${Headers} headers=${a.request.headers} label="Request headers" />
      ${a.request.body === null
        ? html`<p class="muted">The event is past its retention: the body is no longer stored.</p>`
        : html`<${Body} text=${a.request.body} label="Request body" />`}
      <h4>Response</h4>
      <p><span class="badge badge-${a.status}">${a.response.statusCode ? `HTTP ${a.response.statusCode}` : a.status}</span>
        ${' '}${a.response.durationMs} ms${a.response.error ? html` · <span class="bad">${a.response.error}</span>` : null}</p>
      <${Headers} headers=${a.response.headers} label="Response headers" />
      <${Body} text=${a.response.body} label="Response body" />` : null}
  </div>`;
}
