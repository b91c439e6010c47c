// @ts-check
// Meta webhooks of the tenant being acted for: events with their raw and normalised views,
// health, the monitoring dashboard, and test suites.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { TimeChart } from '../chart.js';
import { Empty, ErrorBox, Field, FormError, Loading, Select, Tabs, toast, toastError, useLoad, useSubmit } from '../ui.js';

function Events({ tenant }) {
  const [eventType, setEventType] = useState('');
  const [status, setStatus] = useState('');
  const [open, setOpen] = useState(null);
  const params = new URLSearchParams({ limit: '100' });
  if (eventType) params.set('eventType', eventType);
  if (status) params.set('status', status);
  const events = useLoad(() => api('GET', `/api/v1/meta/events?${params}`, { tenant }), [tenant, eventType, status]);
  const detail = useLoad(() => (open ? api('GET', `/api/v1/meta/events/${open}`, { tenant }) : Promise.resolve(null)), [open]);
  const list = (events.data && events.data.data) || [];
  return html`<section aria-label="Meta events">
    <div class="filters" role="search">
      <${Field} label="Event type" value=${eventType} onInput=${setEventType} placeholder="message.received" />
      <${Select} label="Status" value=${status} onChange=${setStatus}
        options=${[['', 'Any'], ['received', 'Received'], ['processed', 'Processed'], ['failed', 'Failed']]} />
      <button type="button" onClick=${events.reload}>Refresh</button>
    </div>
    ${events.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${events.error} retry=${events.reload} />
    ${events.data && !list.length ? html`<${Empty}>No Meta events yet. Run a test suite, or register the callback URL in Meta's dashboard.<//>` : null}
    ${list.length ? html`<table><thead><tr><th>Received</th><th>Type</th><th>Channel</th><th>Status</th><th></th></tr></thead>
      <tbody>${list.map((e) => html`<tr key=${e.id}>
        <td title=${e.receivedAt}>${relativeTime(e.receivedAt)}</td><td>${e.eventType}</td><td>${e.channel}</td>
        <td><span class="badge badge-${e.status === 'failed' ? 'failed' : 'success'}">${e.status}</span></td>
        <td><button type="button" onClick=${() => setOpen(open === e.id ? null : e.id)}>${open === e.id ? 'Hide' : 'View'}</button></td>
      </tr>`)}</tbody></table>` : null}
    ${open && detail.data ? html`<div class="card" role="region" aria-label="Meta event detail">
      <h3>${detail.data.eventType} <span class="muted mono">${detail.data.naturalId}</span></h3>
      <div class="row"><div><h4>Normalised</h4><pre>${JSON.stringify(detail.data.data, null, 2)}</pre></div>
        <div><h4>Raw, as Meta sent it</h4><pre>${JSON.stringify(detail.data.raw, null, 2)}</pre></div></div>
    </div>` : null}
  </section>`;
}

const STATUS_WORDS = {
  ok: 'Connected',
  token_invalid: 'Token expired or revoked',
  token_expiring: 'Token expires soon',
  permission_denied: 'Missing permission',
  rate_limited: 'Rate limited by Meta',
  account_not_found: 'Account not found',
  error: 'Graph API error',
  unreachable: 'Graph API unreachable',
};

/** The Graph API checks (every 5 minutes, or now) and the app's webhook subscriptions. */
function Graph({ tenant, checks, onChecked }) {
  const subs = useLoad(() => api('GET', '/api/v1/meta/subscriptions', { tenant }), [tenant]);
  const [busy, setBusy] = useState(false);
  const run = async (what, call) => {
    setBusy(true);
    try {
      await call();
      toast(what);
      subs.reload();
      onChecked();
    } catch (e) {
      toastError(e);
    } finally {
      setBusy(false);
    }
  };
  const checkNow = () => run('Graph API checked', () => api('POST', '/api/v1/meta/health/check', { tenant }));
  const subscribe = (channel) => run(`Subscribed to ${channel} webhooks`,
    () => api('POST', '/api/v1/meta/subscriptions', { tenant, body: { channel } }));
  const unsubscribe = (channel) => run(`Unsubscribed from ${channel} webhooks`,
    () => api('DELETE', `/api/v1/meta/subscriptions/${channel}`, { tenant }));
  const channels = (subs.data && subs.data.data) || [];
  return html`<div class="card" role="region" aria-label="Graph API">
    <h3>Graph API</h3>
    ${(checks || []).length ? html`<table aria-label="Graph checks"><thead><tr><th>Channel</th><th>Status</th><th>Checked</th><th>Token</th><th>What to do</th></tr></thead>
      <tbody>${checks.map((c) => html`<tr key=${c.channel}>
        <td>${c.channel}</td>
        <td><span class="badge badge-${c.healthy ? 'active' : 'failed'}">${STATUS_WORDS[c.status] || c.status}</span>
          ${c.unhealthySince ? html`<div class="muted">failing since ${relativeTime(c.unhealthySince)}</div>` : null}</td>
        <td title=${c.checkedAt}>${relativeTime(c.checkedAt)}</td>
        <td>${c.token ? (c.token.expiresAt ? `expires ${relativeTime(c.token.expiresAt)}` : 'does not expire') : '—'}</td>
        <td>${c.advice || ''}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">Not checked yet: hookhub checks the WhatsApp and Instagram tokens every 5 minutes.</p>`}
    <button type="button" onClick=${checkNow} disabled=${busy}>Check now</button>
    <h4>Webhook subscriptions</h4>
    <${ErrorBox} error=${subs.error} retry=${subs.reload} />
    ${subs.data && !channels.length ? html`<p class="muted">Configure WhatsApp or Instagram first (platform admins: Tenants → Integrations).</p>` : null}
    ${channels.length ? html`<table aria-label="Webhook subscriptions"><thead><tr><th>Channel</th><th>Account</th><th>At Meta</th><th>Fields</th><th></th></tr></thead>
      <tbody>${channels.map((c) => html`<tr key=${c.channel}>
        <td>${c.channel}</td><td class="mono">${c.objectId || '—'}</td>
        <td>${c.live ? (c.live.subscribed ? 'Subscribed' : 'Not subscribed') : (c.liveError ? c.liveError.message : '—')}</td>
        <td>${((c.live && c.live.fields) || (c.stored && c.stored.fields) || []).join(', ')}</td>
        <td>${c.live && c.live.subscribed
          ? html`<button type="button" disabled=${busy} onClick=${() => unsubscribe(c.channel)}>Unsubscribe ${c.channel}</button>`
          : html`<button type="button" class="primary" disabled=${busy} onClick=${() => subscribe(c.channel)}>Subscribe ${c.channel}</button>`}</td>
      </tr>`)}</tbody></table>` : null}
  </div>`;
}

function Health({ tenant }) {
  const health = useLoad(() => api('GET', '/api/v1/meta/health', { tenant }), [tenant]);
  const dashboard = useLoad(() => api('GET', '/api/v1/meta/monitoring/dashboard', { tenant }), [tenant]);
  const [window, setWindow] = useState('24h');
  const h = health.data;
  const d = dashboard.data;
  const w = d && d.windows && d.windows[window];
  const hourly = (d && d.hourly) || [];
  return html`<section aria-label="Meta health">
    ${health.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${health.error || dashboard.error} retry=${() => { health.reload(); dashboard.reload(); }} />
    ${h ? html`<div class="card"><h3>Health: <span class="badge badge-${h.status === 'healthy' ? 'active' : 'failed'}">${h.status}</span></h3>
      <ul>${Object.entries(h.checks || {}).filter(([k]) => k !== 'integrations' && k !== 'graph').map(([k, v]) => html`<li>${k}: ${v.status} (${v.latencyMs} ms)</li>`)}
        ${Object.entries((h.checks && h.checks.integrations) || {}).map(([k, v]) => html`<li>${k}: ${v.configured ? (v.ready ? 'ready' : 'configured, not ready') : 'not configured'}</li>`)}</ul>
      <p class="muted">Last event: ${h.lastEvent ? `${h.lastEvent.eventType}, ${relativeTime(h.lastEvent.receivedAt)}` : 'none yet'}</p></div>` : null}
    ${h ? html`<${Graph} tenant=${tenant} checks=${h.checks && h.checks.graph} onChecked=${health.reload} />` : null}
    ${d ? html`<div>
      <${Select} label="Window" value=${window} onChange=${setWindow} options=${[['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days']]} />
      ${w ? html`<div class="cards">
        <div class="card stat"><span>Received</span><strong>${w.received || 0}</strong></div>
        <div class="card stat"><span>Processed</span><strong>${w.processed || 0}</strong></div>
        <div class="card stat"><span>Failed</span><strong>${w.failed || 0}</strong></div>
        <div class="card stat"><span>Success rate</span><strong>${w.successRate === null || w.successRate === undefined ? '—' : `${w.successRate}%`}</strong></div>
        <div class="card stat" title="Items for a Meta account that is not this tenant's: not stored"><span>Other accounts</span><strong>${w.foreignAccount || 0}</strong></div>
      </div>
      <div class="row">
        <div class="card"><h4>By type</h4><ul>${Object.entries(w.byType || {}).map(([k, v]) => html`<li>${k}: ${v}</li>`)}</ul></div>
        <div class="card"><h4>By channel</h4><ul>${Object.entries(w.byChannel || {}).map(([k, v]) => html`<li>${k}: ${v}</li>`)}</ul></div>
      </div>` : null}
      ${hourly.length ? html`<${TimeChart} title="Meta events per hour, last 7 days"
        times=${hourly.map((x) => Date.parse(`${x.hour}:00:00Z`) / 1000)}
        series=${[{ label: 'processed', values: hourly.map((x) => x.processed || 0) }, { label: 'failed', values: hourly.map((x) => x.failed || 0) }]} />` : null}
      ${(d.recommendations || []).length ? html`<div class="card"><h4>Advice</h4><ul>${d.recommendations.map((r) => html`<li>${r}</li>`)}</ul></div>` : null}
    </div>` : null}
  </section>`;
}

function TestSuites({ tenant }) {
  const [accountId, setAccountId] = useState('');
  const [senderId, setSenderId] = useState('16505551234');
  const [senderUsername, setSenderUsername] = useState('test.user');
  const [suite, setSuite] = useState(null);
  const [run, setRun] = useState(null);
  const create = useSubmit(async () => {
    setRun(null);
    setSuite(await api('POST', '/api/v1/meta/test-suites', { tenant, body: { accountId, senderId, senderUsername } }));
  });
  const execute = useSubmit(async () => {
    setRun(await api('POST', `/api/v1/meta/test-suites/${suite.id}/execute`, { tenant }));
  });
  return html`<section aria-label="Test suites">
    <form class="card" onSubmit=${create.submit} aria-label="New test suite">
      <p>A test suite signs Meta's sample webhooks with the tenant's app secret and sends them through
        hookhub's own ingress, so you can see them stored, processed and delivered.</p>
      <div class="row">
        <${Field} label="Account ID" value=${accountId} onInput=${setAccountId} required error=${create.errors.accountId}
          hint="The WhatsApp Business Account ID or the Instagram account ID" />
        <${Field} label="Sender ID" value=${senderId} onInput=${setSenderId} required error=${create.errors.senderId} />
        <${Field} label="Sender username" value=${senderUsername} onInput=${setSenderUsername} required error=${create.errors.senderUsername} />
      </div>
      <${FormError} form=${create} />
      <button class="primary" type="submit" disabled=${create.busy}>Create test suite</button>
    </form>
    ${suite ? html`<div class="card" aria-label="Test suite">
      <h3>Suite <span class="mono">${suite.id}</span>: ${suite.cases.length} cases</h3>
      <button type="button" class="primary" disabled=${execute.busy} onClick=${execute.submit}>Run test suite</button>
      <${FormError} form=${execute} />
      ${run ? html`<div role="status" aria-label="Test run">
        <p><strong>${run.passed} passed</strong>, ${run.failed} failed, ${run.skipped} skipped of ${run.total}</p>
        <table><thead><tr><th>Case</th><th>Expected</th><th>Result</th><th>Stored as</th></tr></thead>
          <tbody>${run.results.map((r) => html`<tr key=${r.name}><td>${r.name}</td><td>${r.expectedType}</td>
            <td><span class="badge badge-${r.status === 'passed' ? 'success' : r.status === 'skipped' ? 'skipped' : 'failed'}">${r.status}</span></td>
            <td>${r.storedType || '—'}</td></tr>`)}</tbody></table>
      </div>` : null}
    </div>` : null}
  </section>`;
}

export function Meta({ tenant }) {
  const [tab, setTab] = useState('events');
  return html`<section>
    <h1>Meta</h1>
    <${Tabs} current=${tab} onSelect=${setTab} tabs=${[['events', 'Events'], ['health', 'Health and monitoring'], ['suites', 'Test suites']]} />
    ${tab === 'events' ? html`<${Events} tenant=${tenant} />` : null}
    ${tab === 'health' ? html`<${Health} tenant=${tenant} />` : null}
    ${tab === 'suites' ? html`<${TestSuites} tenant=${tenant} />` : null}
  </section>`;
}
