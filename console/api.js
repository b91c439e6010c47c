// @ts-check
// The API client and the session. Tokens live in this module's memory only: never in
// localStorage, sessionStorage, cookies or the URL; a reload signs the person out.

let session = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

/** Calls `listener(session, reason)` on every sign-in and sign-out. */
export function onSession(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(next, reason) {
  session = next;
  for (const listener of listeners) listener(session, reason);
}

export function currentUser() {
  return session && session.user;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {{body?: unknown, tenant?: string | null, token?: string}} [options]
 */
async function request(method, path, { body, tenant, token } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (tenant) headers['x-tenant-id'] = tenant;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'hookhub cannot be reached');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`,
      error.message || response.statusText, error.details);
  }
  return { data, response };
}

function started(tokens, previous) {
  return {
    idToken: tokens.idToken,
    refreshToken: tokens.refreshToken || (previous && previous.refreshToken),
    expiresAt: Date.now() + (tokens.expiresIn || 3600) * 1000,
    user: tokens.user,
  };
}

/** Signs in; answers `{challenge, session}` when a new password must be chosen first. */
export async function signIn(email, password) {
  const { data } = await request('POST', '/api/auth/login', { body: { email, password } });
  if (data.challenge) return data;
  setSession(started(data), 'signed-in');
  return null;
}

export async function answerChallenge(email, challengeSession, newPassword) {
  const { data } = await request('POST', '/api/auth/challenge', {
    body: { email, session: challengeSession, newPassword },
  });
  setSession(started(data), 'signed-in');
}

export async function forgotPassword(email) {
  await request('POST', '/api/auth/forgot-password', { body: { email } });
}

export async function confirmForgotPassword(email, code, newPassword) {
  await request('POST', '/api/auth/confirm-forgot-password', { body: { email, code, newPassword } });
}

export async function signOut(reason = 'signed-out') {
  const ending = session;
  setSession(null, reason);
  if (ending && reason === 'signed-out') {
    try {
      await request('POST', '/api/auth/logout', { token: ending.idToken });
    } catch {
      // Signed out here whatever the API says; its tokens expire on their own.
    }
  }
}

let refreshing = null;

async function refresh() {
  if (!session || !session.refreshToken) return false;
  if (!refreshing) {
    const previous = session;
    refreshing = request('POST', '/api/auth/refresh', { body: { refreshToken: previous.refreshToken } })
      .then(({ data }) => {
        if (session === previous) session = started(data, previous);
        return true;
      })
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

const SESSION_ENDED = new Set(['token_expired', 'signed_out', 'user_disabled', 'user_removed']);

/**
 * Calls the API as the signed-in person; `tenant` names the tenant a platform admin acts
 * for. An expired token is refreshed once; a session that cannot go on signs out. Typed from
 * the OpenAPI document: `npm run check` refuses a path, method or body it does not describe.
 * @template {import('./types/api').Method} M
 * @template {import('./types/api').ApiPath<M>} P
 * @param {M} method
 * @param {import('./types/api').Routed<M, P>} path
 * @param {import('./types/api').ApiOptions<M, P>} [options]
 * @returns {Promise<import('./types/api').ApiResponse<M, P>>}
 */
export async function api(method, path, options = {}) {
  if (!session) throw new ApiError(401, 'signed_out', 'not signed in');
  if (session.expiresAt - Date.now() < 30_000) await refresh();
  const call = () => request(method, path, { ...options, token: session && session.idToken });
  try {
    return (await call()).data;
  } catch (error) {
    if (error.status === 401 && error.code === 'token_expired' && (await refresh())) {
      return (await call()).data;
    }
    if (error.status === 401 && SESSION_ENDED.has(error.code)) {
      await signOut(error.code);
    }
    throw error;
  }
}

/** A file from the API (an export), saved through the browser. */
export async function download(path, filename, options = {}) {
  if (!session) throw new ApiError(401, 'signed_out', 'not signed in');
  const headers = { authorization: `Bearer ${session.idToken}` };
  if (options.tenant) headers['x-tenant-id'] = options.tenant;
  const response = await fetch(path, { headers, credentials: 'omit', cache: 'no-store' });
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, error.code, error.message || response.statusText, error.details);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob;
}
