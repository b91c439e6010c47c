// @ts-check
// Messages of the tenant being acted for: send a test SMS or WhatsApp message, and the list
// with each one's status.

import { html, useState } from '../vendor/preact-htm.js';
import { api } from '../api.js';
import { relativeTime } from '../format.js';
import { Empty, ErrorBox, Field, FormError, Loading, Select, toast, useLoad, useSubmit } from '../ui.js';

export function Messages({ tenant }) {
  const [channel, setChannel] = useState('sms');
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  const messages = useLoad(() => api('GET', '/api/v1/messages?limit=100', { tenant }), [tenant]);
  const send = useSubmit(async () => {
    const sent = await api('POST', '/api/v1/messages', { tenant, body: { channel, to, text } });
    toast(`Message ${sent.status}`);
    setText('');
    messages.reload();
  });
  const list = (messages.data && messages.data.data) || [];
  return html`<section>
    <h1>Messages</h1>
    <form class="card" onSubmit=${send.submit} aria-label="Send a message">
      <div class="row">
        <${Select} label="Channel" value=${channel} onChange=${setChannel} options=${[['sms', 'SMS'], ['whatsapp', 'WhatsApp']]} />
        <${Field} label="To" value=${to} onInput=${setTo} required placeholder="+15551234567" error=${send.errors.to} />
      </div>
      <${Field} label="Text" multiline value=${text} onInput=${setText} required error=${send.errors.text} />
      <${FormError} form=${send} />
      <button class="primary" type="submit" disabled=${send.busy}>Send</button>
    </form>
    ${messages.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${messages.error} retry=${messages.reload} />
    ${messages.data && !list.length ? html`<${Empty}>No messages sent yet.<//>` : null}
    ${list.length ? html`<table><thead><tr><th>Sent</th><th>To</th><th>Channel</th><th>Status</th><th>Content</th></tr></thead>
      <tbody>${list.map((m) => html`<tr key=${m.id}><td>${relativeTime(m.createdAt)}</td><td>${m.to}</td>
        <td>${m.channel} (${m.provider})</td>
        <td><span class="badge badge-${m.status === 'failed' ? 'failed' : 'success'}">${m.status}</span>
          ${m.error && m.error.message ? html`<div class="muted">${m.error.message}</div>` : null}</td>
        <td>${m.content.text || m.content.name}</td></tr>`)}</tbody></table>` : null}
  </section>`;
}
