// @ts-check
// What `npm run check` holds the console's calls to: each line marked @ts-expect-error must
// fail to type-check (tsc reports an unused directive otherwise), and the others must pass.
// Never run; checked by tsc with the rest of the console.

import { api } from '../api.js';

const id = String(Date.now());

export async function calls() {
  // A path no route serves, and a method a route does not take.
  // @ts-expect-error
  await api('GET', `/api/v1/webhookz/${id}`);
  // @ts-expect-error
  await api('PUT', '/api/v1/webhooks');
  // A body field the request schema does not have, or of the wrong type.
  // @ts-expect-error
  await api('POST', '/api/v1/webhooks', { body: { nmae: 'x', url: 'https://x.example', events: ['*'] } });
  // @ts-expect-error
  await api('PATCH', `/api/platform/tenants/${id}`, { body: { failureAlerts: 'yes' } });
  // A response field the document does not describe.
  const tenant = await api('GET', `/api/platform/tenants/${id}`);
  // @ts-expect-error
  tenant.contactMail;

  // What the document does describe: paths with parameters and query strings, bodies, and
  // the fields of the answer.
  const saved = await api('PATCH', `/api/platform/tenants/${id}`, { body: { failureAlerts: false } });
  const created = await api('POST', '/api/v1/webhooks', {
    body: { name: 'orders', url: 'https://x.example', events: ['contact.*'] },
    tenant: id,
  });
  const logs = await api('GET', `/api/v1/webhooks/${created.id}/logs?limit=10`, { tenant: id });
  const removed = await api('DELETE', `/api/v1/meta/subscriptions/whatsapp`, { tenant: id });
  return [saved.failureAlerts, created.secret, logs.data.length, removed];
}
