// Pure helpers: no DOM, no network, so `node --test console/tests` can check them.

/** The words a person sees for an API error ({status, code, message, details}). */
export function describeError(error) {
  if (!error) return '';
  if (error.status === 0) return 'hookhub cannot be reached. Check your connection and try again.';
  const byCode = {
    invalid_credentials: 'Incorrect email or password.',
    too_many_attempts: 'Too many failed attempts. Wait a few minutes and try again.',
    session_expired: 'This sign-in took too long. Sign in again.',
    signed_out: 'You have been signed out. Sign in again.',
    user_disabled: 'Your account has been disabled. Ask an administrator.',
    user_removed: 'Your account has been removed.',
    token_expired: 'Your session has ended. Sign in again.',
    refresh_refused: 'Your session has ended. Sign in again.',
    password_rejected: 'That password is too weak: use at least 12 characters with upper and lower case letters, a digit and a symbol.',
    forbidden: 'You are not allowed to do this.',
    not_found: 'It no longer exists: someone may have deleted it.',
    rate_limited: 'Too many requests. Wait a moment and try again.',
    auth_unavailable: 'Sign-in is unavailable right now. Try again shortly.',
    service_unavailable: 'hookhub is having trouble reaching a service. Try again shortly.',
    validation_failed: 'Some fields need attention.',
    user_exists: 'Someone with this email already has an account.',
  };
  if (error.code && byCode[error.code]) return byCode[error.code];
  if (error.status >= 500) return 'Something went wrong on hookhub\'s side. Try again shortly.';
  return error.message || 'Something went wrong.';
}

/** `details` of a validation error, as {field: message}. */
export function fieldErrors(error) {
  const out = {};
  for (const d of (error && error.details) || []) {
    if (d && d.field && !(d.field in out)) out[d.field] = d.message;
  }
  return out;
}

/** Green from 95 %, yellow from 80 %, red below; none without traffic. */
export function successRateClass(rate) {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return 'rate-none';
  if (rate >= 95) return 'rate-good';
  if (rate >= 80) return 'rate-warn';
  return 'rate-bad';
}

/** A percentage from counts, one decimal, or null without traffic. */
export function successRate(successes, total) {
  if (!total) return null;
  return Math.round((successes / total) * 1000) / 10;
}

/** "3 min ago", "2 h ago", "5 d ago", or the date. */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  if (seconds < 30 * 86400) return `${Math.round(seconds / 86400)} d ago`;
  return new Date(then).toISOString().slice(0, 10);
}

/**
 * The settings to send for an integration form: plain fields as typed (blank clears them),
 * secret fields only when typed (blank keeps the stored secret).
 */
export function integrationPayload(fields, values, enabled) {
  const body = { enabled };
  for (const field of fields) {
    const value = (values[field.name] ?? '').trim();
    if (field.secret) {
      if (value) body[field.name] = value;
    } else {
      body[field.name] = value || null;
    }
  }
  return body;
}

/** The catalog's event types grouped by prefix, with the prefix wildcards. */
export function eventChoices(catalog) {
  const groups = new Map();
  for (const event of catalog || []) {
    const type = typeof event === 'string' ? event : event.type;
    const prefix = type.split('.')[0];
    if (!groups.has(prefix)) groups.set(prefix, []);
    groups.get(prefix).push(type);
  }
  return [...groups.entries()].map(([prefix, types]) => ({ prefix, wildcard: `${prefix}.*`, types }));
}

/** Lines `name: value` as a headers object; blank lines ignored, bad lines reported. */
export function parseHeaders(text) {
  const headers = {};
  const errors = [];
  (text || '').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const at = line.indexOf(':');
    if (at <= 0) {
      errors.push(`line ${i + 1}: expected "Name: value"`);
      return;
    }
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  return { headers, errors };
}

/** A `to` filter from a date input: the end of that day (UTC), so the day is included. */
export function endOfDay(date) {
  return /^\d{4}-\d{2}-\d{2}$/.test(date || '') ? `${date}T23:59:59Z` : date;
}
