// The console's shell: who is signed in, the navigation for their role, the tenant a
// platform admin acts for, and a hash router (the server serves one page).

import { html, render, useEffect, useState } from './vendor/preact-htm.js';
import { currentUser, onSession, signOut } from './api.js';
import { Toasts } from './ui.js';
import { SignIn } from './pages/sign_in.js';
import { Tenants } from './pages/tenants.js';
import { Tenant } from './pages/tenant.js';
import { People } from './pages/people.js';
import { Endpoints } from './pages/endpoints.js';
import { Events } from './pages/events.js';
import { Logs } from './pages/logs.js';
import { ApiKeys } from './pages/api_keys.js';
import { Meta } from './pages/meta.js';
import { Contacts } from './pages/contacts.js';
import { Messages } from './pages/messages.js';

const ENDED = {
  'signed-out': 'You are signed out.',
  token_expired: 'Your session has ended. Sign in again.',
  signed_out: 'You were signed out. Sign in again.',
  user_disabled: 'Your account has been disabled.',
  user_removed: 'Your account has been removed.',
};

function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  return { path, params: new URLSearchParams(search) };
}

function navigate(to) {
  location.hash = to;
}

function Nav({ user, acting, stopActing }) {
  const link = (href, label) => html`<li><a href=${href} aria-current=${location.hash.startsWith(href) ? 'page' : undefined}>${label}</a></li>`;
  const workspace = user.role === 'tenant_admin' || acting;
  return html`<nav aria-label="Main">
    <ul>
      ${user.role === 'platform_admin' ? html`${link('#/tenants', 'Tenants')}${link('#/admins', 'Platform admins')}` : null}
      ${workspace ? html`${link('#/endpoints', 'Endpoints')}${link('#/events', 'Events')}${link('#/logs', 'Delivery logs')}${link('#/meta', 'Meta')}${link('#/contacts', 'Contacts')}${link('#/messages', 'Messages')}${link('#/keys', 'API keys')}${link('#/team', 'Team')}` : null}
    </ul>
    ${acting ? html`<p class="acting">Acting for <strong>${acting.name}</strong>
      <button type="button" class="link" onClick=${stopActing}>stop</button></p>` : null}
  </nav>`;
}

function Shell({ user }) {
  const [route, setRoute] = useState(parseHash());
  const [acting, setActing] = useState(null);
  useEffect(() => {
    const update = () => setRoute(parseHash());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  const platform = user.role === 'platform_admin';
  // A tenant admin's tenant is theirs; the API ignores X-Tenant-Id for them.
  const tenant = platform ? acting && acting.id : undefined;
  const needsTenant = platform && !acting;
  const actFor = (t) => {
    setActing({ id: t.id, name: t.name });
    navigate('#/endpoints');
  };

  let page;
  const { path, params } = route;
  const tenantMatch = path.match(/^\/tenants\/([^/]+)$/);
  if (platform && tenantMatch) page = html`<${Tenant} tenantId=${decodeURIComponent(tenantMatch[1])} navigate=${navigate} actFor=${actFor} />`;
  else if (platform && path === '/admins') page = html`<section><h1>Platform admins</h1><${People} base="/api/platform/users" /></section>`;
  else if (['/endpoints', '/events', '/logs', '/meta', '/contacts', '/messages', '/keys', '/team'].includes(path) && needsTenant) {
    page = html`<section><h1>Choose a tenant</h1><p>Open a tenant and press “Act for this tenant” to manage its endpoints, logs and keys.</p><a href="#/tenants">Tenants</a></section>`;
  } else if (path === '/endpoints') page = html`<${Endpoints} tenant=${tenant} />`;
  else if (path === '/events') page = html`<${Events} tenant=${tenant} />`;
  else if (path === '/logs') page = html`<${Logs} key=${params.toString()} tenant=${tenant} params=${params} />`;
  else if (path === '/keys') page = html`<${ApiKeys} tenant=${tenant} />`;
  else if (path === '/meta') page = html`<${Meta} tenant=${tenant} />`;
  else if (path === '/contacts') page = html`<${Contacts} tenant=${tenant} />`;
  else if (path === '/messages') page = html`<${Messages} tenant=${tenant} />`;
  else if (path === '/team') page = platform
    ? html`<section><h1>Team</h1><${People} base=${`/api/platform/tenants/${tenant}/users`} /></section>`
    : html`<section><h1>Team</h1><${People} base="/api/v1/users" canManage=${false} /></section>`;
  else if (platform) page = html`<${Tenants} navigate=${navigate} />`;
  else page = html`<${Endpoints} tenant=${tenant} />`;

  return html`<div class="shell">
    <header>
      <a class="brand" href="#/">hookhub</a>
      <${Nav} user=${user} acting=${acting} stopActing=${() => { setActing(null); navigate('#/tenants'); }} />
      <div class="who">
        <span>${user.email}</span> <span class="muted">${platform ? 'platform admin' : 'tenant admin'}</span>
        <a href="/api/openapi.json" target="_blank" rel="noopener">API docs</a>
        <button type="button" onClick=${() => signOut()}>Sign out</button>
      </div>
    </header>
    <main id="main">${page}</main>
  </div>`;
}

function App() {
  const [user, setUser] = useState(currentUser());
  const [notice, setNotice] = useState(null);
  useEffect(() => onSession((session, reason) => {
    setUser(session && session.user);
    if (!session) {
      setNotice(ENDED[reason] || 'Your session has ended. Sign in again.');
      navigate('#/');
    }
  }), []);
  return html`${user ? html`<${Shell} user=${user} />` : html`<${SignIn} notice=${notice} />`}<${Toasts} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
