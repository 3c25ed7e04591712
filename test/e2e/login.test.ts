import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { Agent } from '../helpers/agent.js';
import { APP_REDIRECT, authorizationRequest, callbackParams, createTestApp, loginThroughBank, openTestStore, startTestNetwork, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';

let handle: TestStoreHandle;
let net: TestNetwork;

before(async () => {
  handle = await openTestStore();
  net = await startTestNetwork(handle.store);
});
after(async () => {
  await net?.close();
  await handle?.cleanup();
});

test('full login through the chooser and Mikomo Bank releases the consented claims', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { scope: 'openid email profile address age_over_18 age_over_21' });
  const agent = new Agent();
  const page = await loginThroughBank(agent, req, { bank: 'mikomo', username: 'mikomo_10' });
  const params = callbackParams(page);
  assert.equal(params.get('state'), req.state);
  assert.ok(params.get('code'));

  const tokens = await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  const id = tokens.claims()!;
  assert.equal(id.iss, net.issuer);
  assert.equal(id.aud, app.clientId);
  assert.equal(id.email, 'PhilipHLovett@mikomotest.com');
  assert.equal(id.email_verified, true);
  assert.equal(id.given_name, 'Philip');
  assert.equal(id.family_name, 'Lovett');
  assert.equal(id.name, 'Philip Lovett');
  assert.equal(id.birthdate, '1979-05-14');
  assert.equal(id.age_over_18, true);
  assert.equal(id.age_over_21, true);
  assert.equal(id.age_over_25, undefined, 'age_over_25 was not requested');
  assert.equal(id.phone_number, undefined, 'phone was not requested');

  const info = await client.fetchUserInfo(app.config, tokens.access_token, id.sub);
  assert.equal(info.sub, id.sub);
  assert.deepEqual(info.address, { street_address: '7572 Chowning Rd', locality: 'Springfield', region: 'TN', postal_code: '37172', country: 'US' });
  assert.equal(info.email, 'PhilipHLovett@mikomotest.com');
  assert.equal(info.phone_number, undefined);
  void APP_REDIRECT;
});
