// @ts-check
// People who sign in: a tenant's admins, or the platform's, invited, disabled, enabled and
// removed by platform admins.

import { html, useState } from '../vendor/preact-htm.js';
import { api, currentUser } from '../api.js';
import { relativeTime } from '../format.js';
import { ConfirmButton, Empty, ErrorBox, Field, FormError, Loading, toast, toastError, useLoad, useSubmit } from '../ui.js';

/** @typedef {'/api/platform/users' | `/api/platform/tenants/${string}/users`} PeopleBase */

/** @param {{base: PeopleBase, onInvited: () => void}} props */
function Invite({ base, onInvited }) {
  const [email, setEmail] = useState('');
  const [temporaryPassword, setTemporaryPassword] = useState('');
  const form = useSubmit(async () => {
    const person = await api('POST', base, {
      body: { email, ...(temporaryPassword ? { temporaryPassword } : {}) },
    });
    toast(`${person.email} invited`);
    setEmail('');
    setTemporaryPassword('');
    onInvited();
  });
  const { errors } = form;
  return html`<form class="card" onSubmit=${form.submit} aria-label="Invite">
    <h3>Invite someone</h3>
    <div class="row">
      <${Field} label="Email" type="email" value=${email} onInput=${setEmail} required error=${errors.email} />
      <${Field} label="Temporary password" type="password" autocomplete="new-password" value=${temporaryPassword}
        onInput=${setTemporaryPassword} error=${errors.temporaryPassword}
        hint="Optional: leave blank and they receive one by email. They choose their own at first sign-in." />
    </div>
    <${FormError} form=${form} />
    <button class="primary" type="submit">Invite</button>
  </form>`;
}

/**
 * `base` is the collection: `/api/platform/users` or `/api/platform/tenants/{id}/users`.
 * @param {{base: PeopleBase, canManage?: boolean}} props
 */
export function People({ base, canManage = true }) {
  const people = useLoad(() => api('GET', `${base}?limit=200`), [base]);
  const me = currentUser();
  /** @param {{userId: string, email: string}} person @param {'disable' | 'enable'} action */
  const act = (person, action) => async () => {
    try {
      await api('POST', `${base}/${person.userId}/${action}`);
      toast(`${person.email} ${action}d`);
      people.reload();
    } catch (e) {
      toastError(e);
    }
  };
  const remove = (person) => async () => {
    try {
      await api('DELETE', `${base}/${person.userId}`);
      toast(`${person.email} removed`);
      people.reload();
    } catch (e) {
      toastError(e);
    }
  };
  const list = (people.data && people.data.data) || [];
  return html`<section aria-label="People">
    ${canManage ? html`<${Invite} base=${base} onInvited=${people.reload} />` : null}
    ${people.loading ? html`<${Loading} />` : null}
    <${ErrorBox} error=${people.error} retry=${people.reload} />
    ${people.data && !list.length ? html`<${Empty}>Nobody yet.<//>` : null}
    ${list.length ? html`<table>
      <thead><tr><th>Email</th><th>Status</th><th>Last sign-in</th><th>Invited by</th>${canManage ? html`<th>Actions</th>` : null}</tr></thead>
      <tbody>${list.map((p) => html`<tr key=${p.userId}>
        <td>${p.email}</td>
        <td><span class="badge badge-${p.status}">${p.status}</span></td>
        <td>${relativeTime(p.lastSignInAt)}</td>
        <td class="muted">${p.invitedBy || '—'}</td>
        ${canManage ? html`<td class="actions">${me && me.userId === p.userId ? html`<span class="muted">you</span>` : html`
          ${p.status === 'disabled'
            ? html`<button type="button" onClick=${act(p, 'enable')}>Enable</button>`
            : html`<${ConfirmButton} label="Disable" question=${`Disable ${p.email}? Their sessions end at once.`} onConfirm=${act(p, 'disable')} />`}
          <${ConfirmButton} label="Remove" question=${`Remove ${p.email}? They can no longer sign in.`} onConfirm=${remove(p)} />`}</td>` : null}
      </tr>`)}</tbody>
    </table>` : null}
  </section>`;
}
