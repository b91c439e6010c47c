// `node --test console/tests`: the console's pure logic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeError, endOfDay, eventChoices, fieldErrors, integrationPayload, parseHeaders, relativeTime,
  successRate, successRateClass,
} from '../format.js';

test('success rates are coloured at 95 and 80 per cent', () => {
  assert.equal(successRateClass(100), 'rate-good');
  assert.equal(successRateClass(95), 'rate-good');
  assert.equal(successRateClass(94.9), 'rate-warn');
  assert.equal(successRateClass(80), 'rate-warn');
  assert.equal(successRateClass(79.9), 'rate-bad');
  assert.equal(successRateClass(null), 'rate-none');
  assert.equal(successRate(0, 0), null);
  assert.equal(successRate(2, 3), 66.7);
});

test('secrets left blank are not sent, plain fields left blank are cleared', () => {
  const fields = [{ name: 'phoneNumberId', secret: false }, { name: 'accessToken', secret: true },
    { name: 'appSecret', secret: true }];
  const body = integrationPayload(fields, { phoneNumberId: ' 123 ', accessToken: '', appSecret: 'new' }, true);
  assert.deepEqual(body, { enabled: true, phoneNumberId: '123', appSecret: 'new' });
  assert.deepEqual(integrationPayload(fields, {}, false), { enabled: false, phoneNumberId: null });
});

test('API errors become words, and field details a map', () => {
  assert.match(describeError({ status: 401, code: 'invalid_credentials' }), /Incorrect email or password/);
  assert.match(describeError({ status: 0 }), /cannot be reached/);
  assert.match(describeError({ status: 502, code: 'bad_gateway', message: 'x' }), /hookhub's side/);
  assert.equal(describeError({ status: 409, code: 'conflict', message: 'name taken' }), 'name taken');
  assert.deepEqual(fieldErrors({ details: [{ field: 'url', message: 'bad' }, { field: 'url', message: 'later' }] }), { url: 'bad' });
  assert.deepEqual(fieldErrors(null), {});
});

test('the event catalog groups by prefix with its wildcard', () => {
  const groups = eventChoices([{ type: 'contact.created' }, { type: 'contact.deleted' }, { type: 'message.received' }]);
  assert.deepEqual(groups, [
    { prefix: 'contact', wildcard: 'contact.*', types: ['contact.created', 'contact.deleted'] },
    { prefix: 'message', wildcard: 'message.*', types: ['message.received'] },
  ]);
});

test('relative times and header lines', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  assert.equal(relativeTime(null, now), 'never');
  assert.equal(relativeTime('2026-12-07T11:59:50Z', now), 'just now');
  assert.equal(relativeTime('2026-12-07T11:30:00Z', now), '30 min ago');
  assert.equal(relativeTime('2026-12-07T09:00:00Z', now), '3 h ago');
  assert.equal(relativeTime('2026-12-01T12:00:00Z', now), '6 d ago');
  assert.equal(relativeTime('2025-01-01T00:00:00Z', now), '2025-01-01');
  assert.deepEqual(parseHeaders('X-A: 1\n\nbad line\nX-B:two'), { headers: { 'X-A': '1', 'X-B': 'two' }, errors: ['line 3: expected "Name: value"'] });
});

test('a date filter ends with its day', () => {
  assert.equal(endOfDay('2026-12-07'), '2026-12-07T23:59:59Z');
  assert.equal(endOfDay(''), '');
  assert.equal(endOfDay('2026-12-07T10:00:00Z'), '2026-12-07T10:00:00Z');
});
