'use strict';
// Unit tests of the profile script, with `request` stubbed as Auth0's sandbox provides it.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fetchUserProfile = require('./fetchUserProfile.js');

let calls;
function stub(err, resp, body) {
  global.request = {
    get(options, cb) {
      calls.push(options);
      setImmediate(() => cb(err, resp, body));
    },
  };
}
const run = (token = 'AT') => new Promise((resolve) => fetchUserProfile(token, {}, (e, p) => resolve({ e, p })));

beforeEach(() => {
  calls = [];
});

test('success: user_id is sub, normalized fields, extra granted claims kept', async () => {
  stub(null, { statusCode: 200 }, JSON.stringify({ sub: 'abc', email: 'a@b.c', email_verified: true, name: 'A B', given_name: 'A', family_name: 'B', birthdate: '1980-01-01', age_over_18: true }));
  const { e, p } = await run('token-1');
  assert.equal(e, null);
  assert.equal(calls[0].headers.Authorization, 'Bearer token-1');
  assert.match(calls[0].url, /\/oidc-proxy\/proxy\/auth0\/me$/);
  assert.ok(calls[0].timeout > 0);
  assert.deepEqual(p, { user_id: 'abc', email: 'a@b.c', email_verified: true, name: 'A B', given_name: 'A', family_name: 'B', nickname: 'A', app_metadata: {}, user_metadata: {}, birthdate: '1980-01-01', age_over_18: true });
});

test('a user without email still gets a profile keyed by sub', async () => {
  stub(null, { statusCode: 200 }, JSON.stringify({ sub: 'no-mail', given_name: 'Y' }));
  const { e, p } = await run();
  assert.equal(e, null);
  assert.equal(p.user_id, 'no-mail');
  assert.equal('email' in p, false);
});

test('transport error', async () => {
  stub(new Error('ECONNREFUSED'), undefined, undefined);
  const { e, p } = await run();
  assert.match(e.message, /^Failed to fetch the user profile from TrustLane: ECONNREFUSED/);
  assert.equal(p, undefined);
});

test('non-200', async () => {
  stub(null, { statusCode: 401 }, '{"error":"invalid_token"}');
  const { e } = await run();
  assert.equal(e.message, 'Failed status code check for user profile response. Received 401.');
});

test('bad JSON', async () => {
  stub(null, { statusCode: 200 }, '<html>');
  const { e } = await run();
  assert.equal(e.message, 'Failed JSON parsing for user profile response.');
});

test('a response without sub is refused', async () => {
  stub(null, { statusCode: 200 }, JSON.stringify({ email: 'x@y.z' }));
  const { e } = await run();
  assert.equal(e.message, 'The user profile response has no sub.');
});
