import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { Agent, formOf } from '../helpers/agent.js';
import { APP_REDIRECT, authorizationRequest, callbackParams, createTestApp, loginThroughBank, openTestStore, startTestNetwork, submit, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';

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

test('Future Bank (plain OAuth2, own field names) is mapped to standard claims', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { scope: 'openid email profile address phone age_over_18 age_over_21 age_over_25' });
  const page = await loginThroughBank(new Agent(), req, { bank: 'future', username: 'future_1' });
  const tokens = await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  const id = tokens.claims()!;
  assert.equal(id.given_name, 'Amelia');
  assert.equal(id.family_name, 'Hart');
  assert.equal(id.name, 'Amelia Hart');
  assert.equal(id.email, 'amelia.hart@futurebank.test');
  assert.equal(id.email_verified, true);
  assert.equal(id.birthdate, '1985-11-23');
  assert.equal(id.phone_number, '+15035550101');
  assert.equal(id.age_over_25, true);
  const info = await client.fetchUserInfo(app.config, tokens.access_token, id.sub);
  assert.deepEqual(info.address, { street_address: '12 Harbour St', locality: 'Portland', region: 'OR', postal_code: '97209', country: 'US' });
});

test('age claims come from the birthdate; a user without email gets no email claims', async () => {
  const app = await createTestApp(net);
  const minor = await authorizationRequest(app, { scope: 'openid email age_over_18 age_over_21' });
  let page = await loginThroughBank(new Agent(), minor, { bank: 'mikomo', username: 'mikomo_11' });
  let id = (await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: minor.verifier, expectedState: minor.state, expectedNonce: minor.nonce })).claims()!;
  assert.equal(id.age_over_18, false);
  assert.equal(id.age_over_21, false);

  const noEmail = await authorizationRequest(app, { scope: 'openid email profile' });
  page = await loginThroughBank(new Agent(), noEmail, { bank: 'future', username: 'future_3' });
  id = (await client.authorizationCodeGrant(app.config, new URL(page.url), { pkceCodeVerifier: noEmail.verifier, expectedState: noEmail.state, expectedNonce: noEmail.nonce })).claims()!;
  assert.equal(id.email, undefined);
  assert.equal(id.email_verified, undefined);
  assert.equal(id.family_name, 'Tanaka');
});

test('sub is stable for one person at one bank, differs between banks, and is pairwise only when asked', async () => {
  const app = await createTestApp(net);
  const subOf = async (a: typeof app, bank: string, username: string) => {
    const req = await authorizationRequest(a, { scope: 'openid' });
    const page = await loginThroughBank(new Agent(), req, { bank, username });
    return (await client.authorizationCodeGrant(a.config, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce })).claims()!.sub;
  };
  const first = await subOf(app, 'mikomo', 'mikomo_10');
  assert.equal(await subOf(app, 'mikomo', 'mikomo_10'), first);
  assert.notEqual(await subOf(app, 'mikomo', 'mikomo_12'), first);
  const other = await createTestApp(net);
  assert.equal(await subOf(other, 'mikomo', 'mikomo_10'), first, 'public subjects are the same across apps');
  const pairwise = await createTestApp(net, { subjectType: 'pairwise' });
  const p = await subOf(pairwise, 'mikomo', 'mikomo_10');
  assert.notEqual(p, first);
  assert.equal(await subOf(pairwise, 'mikomo', 'mikomo_10'), p);
});

test('identity_provider_id (id or slug) skips the chooser', async () => {
  const app = await createTestApp(net);
  const mikomo = (await net.store.getBank('mikomo'))!;
  for (const value of [mikomo.id, 'mikomo']) {
    const req = await authorizationRequest(app, { identity_provider_id: value });
    const page = await loginThroughBank(new Agent(), req, { username: 'mikomo_10', skipChooser: true });
    assert.ok(callbackParams(page).get('code'));
    assert.equal(callbackParams(page).get('state'), req.state);
  }
});

test('an unknown identity_provider_id returns invalid_request to the app with its state', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { identity_provider_id: 'no-such-bank' });
  const page = await new Agent().go(req.url, {}, APP_REDIRECT);
  const params = callbackParams(page);
  assert.equal(params.get('error'), 'invalid_request');
  assert.equal(params.get('state'), req.state);
});

test('sandbox banks are listed only for sandbox applications', async () => {
  const prod = await createTestApp(net, { kind: 'production' });
  const req = await authorizationRequest(prod);
  const page = await new Agent().go(req.url, {}, APP_REDIRECT);
  assert.match(page.body, /Choose your bank/);
  assert.doesNotMatch(page.body, /Mikomo Bank/);
  const sandbox = await createTestApp(net);
  const page2 = await new Agent().go((await authorizationRequest(sandbox)).url, {}, APP_REDIRECT);
  assert.match(page2.body, /Mikomo Bank/);
  assert.match(page2.body, /Future Bank/);
  const viaIdp = await new Agent().go((await authorizationRequest(prod, { identity_provider_id: 'mikomo' })).url, {}, APP_REDIRECT);
  assert.equal(callbackParams(viaIdp).get('error'), 'invalid_request');
});

test('the chooser filters without JavaScript and offers the last bank first', async () => {
  const app = await createTestApp(net);
  const agent = new Agent();
  const req = await authorizationRequest(app);
  const page = await agent.go(req.url, {}, APP_REDIRECT);
  assert.doesNotMatch(page.body, /Continue with/);
  const filtered = await agent.go(`${page.url}?q=future`);
  assert.match(filtered.body, /<li data-search="[^"]*future[^"]*">/);
  assert.match(filtered.body, /<li data-search="[^"]*mikomo[^"]*" hidden>/);
  await loginThroughBank(agent, await authorizationRequest(app), { bank: 'future', username: 'future_1' });
  const again = await agent.go((await authorizationRequest(app)).url, {}, APP_REDIRECT);
  assert.match(again.body, /Continue with Future Bank/);
});

test('denying consent returns access_denied with the state', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app);
  const page = await loginThroughBank(new Agent(), req, { username: 'mikomo_10', decision: 'deny' });
  const params = callbackParams(page);
  assert.equal(params.get('error'), 'access_denied');
  assert.equal(params.get('state'), req.state);
  assert.equal(params.get('code'), null);
});

test('cancelling at the bank returns access_denied with the state', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { identity_provider_id: 'mikomo' });
  const agent = new Agent();
  const login = await agent.go(req.url, {}, APP_REDIRECT);
  assert.match(login.body, /Sign in to Mikomo Bank/);
  const page = await submit(agent, login, '/cancel', {});
  const params = callbackParams(page);
  assert.equal(params.get('error'), 'access_denied');
  assert.equal(params.get('state'), req.state);
});

test('the consent page names the app and exactly the claims it will receive', async () => {
  const app = await createTestApp(net, { name: 'Claims Checker', logoUri: 'https://example.com/logo.png' });
  const req = await authorizationRequest(app, { scope: 'openid email age_over_18', identity_provider_id: 'mikomo' });
  const agent = new Agent();
  const login = await agent.go(req.url, {}, APP_REDIRECT);
  const consent = await submit(agent, login, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
  assert.match(consent.body, /Claims Checker wants to know who you are/);
  assert.match(consent.body, /src="https:\/\/example.com\/logo.png"/);
  assert.match(consent.body, /\(email\)/);
  assert.match(consent.body, /PhilipHLovett@mikomotest.com/);
  assert.match(consent.body, /\(age_over_18\)/);
  assert.doesNotMatch(consent.body, /\(birthdate\)|\(address\)|\(given_name\)/);
});

test('wrong password at the bank shows an error and keeps the login going', async () => {
  const app = await createTestApp(net);
  const req = await authorizationRequest(app, { identity_provider_id: 'mikomo' });
  const agent = new Agent();
  const login = await agent.go(req.url, {}, APP_REDIRECT);
  const wrong = await submit(agent, login, '/login', { username: 'mikomo_10', password: 'nope' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.body, /Wrong username or password/);
  const consent = await submit(agent, wrong, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
  const done = await submit(agent, consent, '/consent', { decision: 'allow' });
  assert.ok(callbackParams(done).get('code'));
});

test('consent is remembered in the session; a later request for more asks only for what is new', async () => {
  const app = await createTestApp(net, { name: 'Incremental' });
  const agent = new Agent();
  const first = await authorizationRequest(app, { scope: 'openid email' });
  assert.ok(callbackParams(await loginThroughBank(agent, first, { username: 'mikomo_10' })).get('code'));

  // Same browser, same app, same scopes: the bank login still happens, the consent page does not.
  const again = await authorizationRequest(app, { scope: 'openid email' });
  const login = await agent.go(again.url, {}, APP_REDIRECT);
  const chooserSkipped = login.body.includes('Choose your bank') ? await submit(agent, login, '/bank', { bank: 'mikomo' }) : login;
  const back = await submit(agent, chooserSkipped, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
  const params = callbackParams(back);
  assert.equal(params.get('state'), again.state);
  assert.ok(params.get('code'));

  // More scopes: only the new claims are asked for.
  const more = await authorizationRequest(app, { scope: 'openid email address', identity_provider_id: 'mikomo' });
  const bankPage = await agent.go(more.url, {}, APP_REDIRECT);
  const consent = await submit(agent, bankPage, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
  assert.match(consent.body, /\(address\)/);
  assert.doesNotMatch(consent.body, /\(email\)/);
  const done = await submit(agent, consent, '/consent', { decision: 'allow' });
  const code = callbackParams(done);
  assert.equal(code.get('state'), more.state);
  const tokens = await client.authorizationCodeGrant(app.config, new URL(done.url), { pkceCodeVerifier: more.verifier, expectedState: more.state, expectedNonce: more.nonce });
  const claims = tokens.claims()!;
  assert.equal(claims.email, 'PhilipHLovett@mikomotest.com');
  assert.ok(claims.address, 'the newly granted address is released');
});

test('claims asked for with the claims parameter are shown on the consent page and released', async () => {
  const app = await createTestApp(net, { name: 'Claims Param' });
  const req = await authorizationRequest(app, { scope: 'openid', identity_provider_id: 'mikomo', claims: JSON.stringify({ id_token: { birthdate: null, age_over_21: { essential: true } } }) });
  const agent = new Agent();
  const bankPage = await agent.go(req.url, {}, APP_REDIRECT);
  const consent = await submit(agent, bankPage, '/login', { username: 'mikomo_10', password: 'mikomo_10' });
  assert.match(consent.body, /\(birthdate\)/);
  assert.match(consent.body, /\(age_over_21\)/);
  assert.doesNotMatch(consent.body, /\(email\)/);
  const done = await submit(agent, consent, '/consent', { decision: 'allow' });
  const tokens = await client.authorizationCodeGrant(app.config, new URL(done.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  const claims = tokens.claims()!;
  assert.match(String(claims.birthdate), /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(typeof claims.age_over_21, 'boolean');
  assert.equal(claims.email, undefined);
});

test('another person on the same browser: the network switches sessions, asks that person for consent and releases their claims', async () => {
  const app = await createTestApp(net, { name: 'Shared Browser' });
  const agent = new Agent();
  const first = await authorizationRequest(app, { identity_provider_id: 'mikomo' });
  const firstDone = await loginThroughBank(agent, first, { username: 'mikomo_10', skipChooser: true });
  const firstTokens = await client.authorizationCodeGrant(app.config, new URL(firstDone.url), { pkceCodeVerifier: first.verifier, expectedState: first.state, expectedNonce: first.nonce });

  const second = await authorizationRequest(app, { identity_provider_id: 'mikomo' });
  const bankPage = await agent.go(second.url, {}, APP_REDIRECT);
  // The bank and then the network end the old session with an auto-submitting
  // form from oidc-provider (a browser posts it by script; this agent posts it).
  let page = await submit(agent, bankPage, '/login', { username: 'mikomo_13', password: 'mikomo_13' });
  let autoForms = 0;
  while (page.body.includes('Submitting Callback') && autoForms++ < 4) {
    const logout = formOf(page.body, '/session/end');
    page = await agent.go(new URL(logout.action, page.url).href, { form: logout.fields }, APP_REDIRECT);
  }
  assert.ok(autoForms >= 1, 'the network switched sessions');
  assert.match(page.body, /Shared Browser wants to know who you are/);
  assert.match(page.body, /sofia\.alvarez@mikomotest\.com/);
  assert.doesNotMatch(page.body, /PhilipHLovett/);
  const done = await submit(agent, page, '/consent', { decision: 'allow' });
  assert.equal(callbackParams(done).get('state'), second.state);
  const tokens = await client.authorizationCodeGrant(app.config, new URL(done.url), { pkceCodeVerifier: second.verifier, expectedState: second.state, expectedNonce: second.nonce });
  assert.equal(tokens.claims()!.email, 'sofia.alvarez@mikomotest.com');
  assert.notEqual(tokens.claims()!.sub, firstTokens.claims()!.sub);
});
