/** The "Auth0 setup" panel on an application's page, and the allowed Auth0 callback URLs it manages. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, decodeEntities, formOf } from '../helpers/agent.js';
import { openTestStore, startTestNetwork, type TestNetwork, type TestStoreHandle } from '../helpers/network.js';
import { signUpAndSignIn } from '../helpers/console.js';

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

const codeOf = (body: string, id: string) => decodeEntities(new RegExp(`<code id="${id}">([\\s\\S]*?)</code>`).exec(body)?.[1] ?? '');

test('each application shows every Auth0 value to paste, and the served script is the same', async () => {
  const { agent, accountId } = await signUpAndSignIn(net);
  const { application } = await net.store.createApplication({
    ownerId: accountId,
    name: 'Auth0 social connection',
    authMethod: 'client_secret_basic',
    redirectUris: [`${net.url}/oidc-proxy/proxy/auth0/callback`],
    originUrl: `${net.url}/oidc-proxy/proxy/auth0/auth`,
  });
  const page = await agent.go(`${net.url}/console/applications/${application.clientId}`);
  assert.equal(page.status, 200);
  assert.match(page.body, /<h2 id="auth0-title">Auth0 setup<\/h2>/);
  assert.equal(codeOf(page.body, 'auth0-authorization-url'), `${net.url}/oidc-proxy/proxy/auth0/auth`);
  assert.equal(codeOf(page.body, 'auth0-token-url'), `${net.url}/oidc-proxy/proxy/auth0/token`);
  assert.equal(codeOf(page.body, 'auth0-scope'), 'openid email profile');
  assert.equal(codeOf(page.body, 'auth0-client-id'), application.clientId);
  const script = codeOf(page.body, 'auth0-script');
  assert.match(script, /^function \(accessToken, ctx, callback\) \{/);
  assert.ok(script.includes(`'${net.url}/oidc-proxy/proxy/auth0/me'`));
  const served = await (await fetch(`${net.url}/integrations/auth0/fetchUserProfile.js`)).text();
  assert.equal(served, script);
  assert.doesNotThrow(() => new Function(`return (${served})`)(), 'the script parses as Auth0 evaluates it');
  assert.doesNotMatch(page.body, /role="alert"/, 'no setup problem for a correctly registered application');

  // An application that is not registered for the proxy says what to fix.
  const { application: other } = await net.store.createApplication({ ownerId: accountId, name: 'Other', authMethod: 'client_secret_basic', redirectUris: ['https://app.example/cb'] });
  const otherPage = await agent.go(`${net.url}/console/applications/${other.clientId}`);
  assert.match(otherPage.body, new RegExp(`Add ${net.url.replace(/[.:/]/g, '\\$&')}/oidc-proxy/proxy/auth0/callback as a Redirect URL`));
});

test('allowed Auth0 callback URLs (custom domains): validated, saved, then accepted by the proxy', async () => {
  const { agent, accountId } = await signUpAndSignIn(net);
  const { application } = await net.store.createApplication({
    ownerId: accountId,
    name: 'Custom domain',
    authMethod: 'client_secret_basic',
    redirectUris: [`${net.url}/oidc-proxy/proxy/auth0/callback`],
  });
  const custom = 'https://login.example.com/login/callback';
  const authUrl = `${net.url}/oidc-proxy/proxy/auth0/auth?response_type=code&client_id=${application.clientId}&redirect_uri=${encodeURIComponent(custom)}&scope=openid&state=s`;
  const refused = await new Agent().go(authUrl);
  assert.equal(refused.status, 400, 'not allowed before it is listed');

  const page = await agent.go(`${net.url}/console/applications/${application.clientId}`);
  const form = formOf(page.body, '/auth0-callbacks');
  const bad = await agent.go(new URL(form.action, net.url).href, { form: { ...form.fields, auth0_callback_urls: 'http://login.example.com/login/callback' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /must be an https URL/);
  assert.match(bad.body, /http:\/\/login.example.com\/login\/callback<\/textarea>/, 'the typed value is kept');
  const saved = await agent.go(new URL(form.action, net.url).href, { form: { ...form.fields, auth0_callback_urls: `${custom}\n` } });
  assert.equal(saved.status, 200);
  assert.match(saved.body, new RegExp(`${custom.replace(/[.:/]/g, '\\$&')}</textarea>`));

  const accepted = await new Agent().request(authUrl);
  assert.equal(accepted.status, 302);
  assert.ok(accepted.headers.get('location')!.startsWith(`${net.url}/oidc/auth?`), 'sent on to the network login');

  // Another account cannot change it.
  const { agent: other } = await signUpAndSignIn(net);
  const otherPage = await other.go(`${net.url}/console/applications`);
  const { fields } = formOf(otherPage.body, '/console/logout');
  const foreign = await other.go(`${net.url}/console/applications/${application.clientId}/auth0-callbacks`, { form: { csrf: fields.csrf!, auth0_callback_urls: 'https://evil.example/login/callback' } });
  assert.equal(foreign.status, 404);
});
