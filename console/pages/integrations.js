// @ts-check
// A tenant's integrations: WhatsApp, Instagram, SMS (Twilio, Vonage, AWS SNS) and n8n, with
// secrets shown masked and kept when left blank.

import { html, useState, useEffect } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { describeError, fieldErrors, integrationPayload } from '../format.js';
import { Checkbox, CopyButton, ErrorBox, Field, Loading, Select, Tabs, toast, useLoad } from '../ui.js';

const plain = (name, label, hint) => ({ name, label, hint, secret: false });
const secret = (name, label, hint) => ({ name, label, hint, secret: true });

const FIELDS = {
  whatsapp: [
    plain('phoneNumberId', 'Phone number ID', 'From WhatsApp Manager → API setup'),
    plain('businessAccountId', 'Business account ID'),
    plain('phoneNumber', 'Phone number', 'E.164, e.g. +15550783881'),
    secret('accessToken', 'Access token'),
    secret('appSecret', 'App secret', 'Checks the signature of every webhook Meta sends'),
    secret('webhookVerifyToken', 'Webhook verify token', 'Meta sends it back when you register the callback URL'),
    plain('apiVersion', 'Graph API version', 'e.g. v21.0; blank for the default'),
  ],
  instagram: [
    plain('accountId', 'Instagram account ID'),
    plain('pageId', 'Facebook Page ID', 'The Page linked to the account: its messaging webhooks are subscribed there'),
    plain('appId', 'App ID'),
    secret('accessToken', 'Access token'),
    secret('appSecret', 'App secret'),
    secret('webhookVerifyToken', 'Webhook verify token'),
  ],
  twilio: [
    plain('accountSid', 'Account SID', 'AC…'),
    secret('authToken', 'Auth token'),
    plain('phoneNumber', 'From number', 'E.164'),
    plain('messagingServiceSid', 'Messaging service SID', 'MG…, instead of a from number'),
  ],
  vonage: [
    plain('apiKey', 'API key'),
    secret('apiSecret', 'API secret'),
    plain('from', 'From', 'A number or an alphanumeric sender'),
  ],
  sns: [
    plain('region', 'Region', 'e.g. us-east-1'),
    plain('accessKeyId', 'Access key ID', 'Leave both keys blank to send with the function\'s own role'),
    secret('secretAccessKey', 'Secret access key'),
    plain('senderId', 'Sender ID'),
    plain('phoneNumber', 'Origination number', 'E.164'),
    plain('smsType', 'SMS type', 'Transactional or Promotional'),
  ],
  n8n: [
    plain('baseUrl', 'n8n base URL', 'https://…'),
    secret('apiKey', 'API key'),
  ],
};

function fieldsOf(kind, provider) {
  return kind === 'sms' ? FIELDS[provider || 'twilio'] : FIELDS[kind];
}

function IntegrationForm({ tenantId, kind, stored, onSaved }) {
  const [enabled, setEnabled] = useState(stored ? stored.enabled : true);
  const [provider, setProvider] = useState((stored && stored.provider) || 'twilio');
  const [values, setValues] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [testResult, setTestResult] = useState(null);
  const [testTo, setTestTo] = useState('');
  const fields = fieldsOf(kind, provider);
  const sameProvider = !stored || kind !== 'sms' || stored.provider === provider;

  useEffect(() => {
    // Plain fields start from what is stored; secrets always start blank.
    const start = {};
    for (const f of fields) if (!f.secret && stored && sameProvider) start[f.name] = stored[f.name] || '';
    setValues(start);
  }, [kind, provider, stored]);

  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = integrationPayload(fields, values, enabled);
      if (kind === 'sms') body.provider = provider;
      const saved = await api('PUT', `/api/platform/tenants/${tenantId}/integrations/${kind}`, { body });
      toast('Saved. Secrets are stored encrypted and shown masked.');
      onSaved(saved);
    } catch (e) {
      setError(e);
      toast(describeError(e), 'error');
    } finally {
      setBusy(false);
    }
  };

  // A check reads the account (Meta) or the instance (n8n) without sending anything; a test
  // message goes to a real number.
  const test = async (sendTo) => {
    setTestResult(null);
    try {
      const body = sendTo ? { to: sendTo } : undefined;
      const result = await api('POST', `/api/platform/tenants/${tenantId}/integrations/${kind}/test`, { body });
      // A sent message says `success`; a connection check, `healthy`.
      const ok = 'success' in result ? result.success !== false : 'healthy' in result && result.healthy;
      setTestResult({ ok, summary: testSummary(result, sendTo), text: JSON.stringify(result, null, 2) });
    } catch (e) {
      setTestResult({ ok: false, text: describeError(e) });
    }
  };

  const errors = fieldErrors(error);
  return html`<form class="card" onSubmit=${save} aria-label="${kind} settings">
    <${Checkbox} label="Enabled" checked=${enabled} onChange=${setEnabled} />
    ${kind === 'sms' ? html`<${Select} label="Provider" value=${provider} onChange=${setProvider}
      options=${[['twilio', 'Twilio'], ['vonage', 'Vonage'], ['sns', 'AWS SNS']]}
      hint=${stored && stored.provider && stored.provider !== provider ? 'Saving replaces the stored provider and its credentials.' : null} />` : null}
    ${fields.map((f) => {
      const mask = f.secret && stored && sameProvider ? stored[f.name] : null;
      return html`<${Field} key=${f.name} name=${f.name} label=${f.label} type=${f.secret ? 'password' : 'text'}
        autocomplete="off" value=${values[f.name] || ''}
        onInput=${(v) => setValues({ ...values, [f.name]: v })}
        placeholder=${mask ? `${mask} (leave blank to keep)` : ''}
        hint=${mask ? `Stored: ${mask}. Leave blank to keep it.` : f.hint}
        error=${errors[f.name]} />`;
    })}
    ${error && !Object.keys(errors).length ? html`<${ErrorBox} error=${error} />` : null}
    <div class="actions">
      <button class="primary" type="submit" disabled=${busy}>Save</button>
    </div>
    ${stored ? html`<fieldset class="test">
      <legend>Test connection</legend>
      ${kind === 'n8n' ? html`<p class="muted">Calls the instance's /healthz: reachability, TLS and latency.</p>` : null}
      ${kind === 'whatsapp' || kind === 'instagram'
        ? html`<p class="muted">Reads the ${kind === 'whatsapp' ? 'phone number' : 'Instagram account'} from the Graph API with the saved access token; nothing is sent.</p>
          <button type="button" onClick=${() => test(null)}>Test connection</button>`
        : null}
      ${kind === 'n8n' ? html`<button type="button" onClick=${() => test(null)}>Test connection</button>` : null}
      ${kind === 'sms' || kind === 'whatsapp' ? html`<${Field} label="Send a test message to" value=${testTo} onInput=${setTestTo} placeholder="+15551234567" />
        <button type="button" onClick=${() => test(testTo)}>Send test message</button>` : null}
      ${testResult ? html`<div role="status" aria-label="Test result">
        ${testResult.summary ? html`<p class=${`test-result ${testResult.ok ? 'ok' : 'bad'}`}>${testResult.summary}</p>` : null}
        <pre class=${testResult.ok ? 'ok' : 'bad'}>${testResult.text}</pre>
      </div>` : null}
    </fieldset>` : null}
  </form>`;
}

/** A Graph check's outcome in words; other tests show their answer as it came. */
function testSummary(result, sendTo) {
  if (sendTo || !result.integration) return null;
  if (result.healthy) {
    const a = result.account || {};
    const name = [a.verified_name || a.name, a.display_phone_number || (a.username && `@${a.username}`)].filter(Boolean).join(' ');
    return `Connected${name ? `: ${name}` : ''} (${result.latencyMs} ms).`;
  }
  const why = (result.error && result.error.message) || result.status;
  return `Not connected (${result.status.replace(/_/g, ' ')}): ${why}. ${result.advice || ''}`;
}

function MetaCallback({ tenantId, kind }) {
  const url = `${location.origin}/webhooks/meta/${tenantId}`;
  return html`<div class="card callout">
    <h3>Register in Meta's dashboard</h3>
    <p>Callback URL <code>${url}</code> <${CopyButton} text=${url} /></p>
    <p>Verify token: the ${kind === 'whatsapp' ? 'WhatsApp' : 'Instagram'} webhook verify token saved here.
      Subscribe to the <code>messages</code> field.</p>
  </div>`;
}

export function Integrations({ tenantId }) {
  const [kind, setKind] = useState('whatsapp');
  const all = useLoad(() => api('GET', `/api/platform/tenants/${tenantId}/integrations`), [tenantId]);
  const [saved, setSaved] = useState({});
  const stored = saved[kind] || (all.data && all.data[kind]) || null;
  return html`<section aria-label="Integrations">
    <${Tabs} current=${kind} onSelect=${setKind}
      tabs=${[['whatsapp', 'WhatsApp'], ['instagram', 'Instagram'], ['sms', 'SMS'], ['n8n', 'n8n']]} />
    ${all.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${all.error} retry=${all.reload} />
    ${all.data ? html`<div>
      ${stored ? html`<p class="muted">Last saved ${stored.updatedAt} by ${stored.updatedBy}.</p>` : html`<p class="muted">Not configured yet.</p>`}
      <${IntegrationForm} key=${kind} tenantId=${tenantId} kind=${kind} stored=${stored}
        onSaved=${(v) => setSaved({ ...saved, [kind]: v })} />
      ${kind === 'whatsapp' || kind === 'instagram' ? html`<${MetaCallback} tenantId=${tenantId} kind=${kind} />` : null}
    </div>` : null}
  </section>`;
}
