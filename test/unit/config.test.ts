import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { ageOn, networkClaims } from '../../src/network/claims.js';
import { applyClaimMapping } from '../../src/connectors/oauth2.js';
import { html, safeUrl } from '../../src/http/html.js';

test('configuration: defaults, and one clear message per bad value', () => {
  const c = loadConfig({});
  assert.equal(c.port, 9001);
  assert.equal(c.issuer, 'http://localhost:9001/oidc');
  const e = (() => {
    try {
      loadConfig({ PORT: 'abc', PUBLIC_URL: 'not a url', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', SANDBOX_BANKS: 'maybe', BANK_TIMEOUT_MS: '5' });
    } catch (err) {
      return err as ConfigError;
    }
    return undefined;
  })();
  assert.ok(e instanceof ConfigError);
  assert.equal(e.problems.length, 6);
  assert.match(e.message, /PORT="abc" is not a whole number/);
  assert.match(e.message, /PUBLIC_URL="not a url" is not a valid URL/);
  assert.match(e.message, /DATABASE_URL must start with postgres/);
  assert.match(e.message, /LOG_LEVEL="loud"/);
  assert.match(e.message, /SANDBOX_BANKS="maybe" is not a boolean/);
  assert.match(e.message, /BANK_TIMEOUT_MS=5 is out of range/);
  assert.equal(loadConfig({ PUBLIC_URL: 'https://id.example.com/' }).issuer, 'https://id.example.com/oidc');
});

test('npm start refuses a bad configuration with the message and exit code 1', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, PORT: 'nope' }, encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Invalid configuration:\n {2}- PORT="nope" is not a whole number/);
});

test('age is computed in full years at the login date', () => {
  assert.equal(ageOn('2008-11-26', new Date('2026-11-26T00:00:00Z')), 18);
  assert.equal(ageOn('2008-11-27', new Date('2026-11-26T00:00:00Z')), 17);
  assert.equal(ageOn('2008-02-30x', new Date()), undefined);
  const c = networkClaims({ subject: 's', claims: { given_name: 'A', family_name: 'B', birthdate: '2005-11-27', email: 'a@b' } }, new Date('2026-11-26T12:00:00Z'));
  assert.deepEqual(
    { name: c.name, over18: c.age_over_18, over21: c.age_over_21, verified: c.email_verified },
    { name: 'A B', over18: true, over21: false, verified: false },
  );
  const bad = networkClaims({ subject: 's', claims: { birthdate: 'yesterday' } });
  assert.equal(bad.birthdate, undefined);
  assert.equal(bad.age_over_18, undefined);
});

test('claim mapping reads dotted paths and nests targets', () => {
  assert.deepEqual(applyClaimMapping({ id: 7, home: { city: 'X' }, empty: null }, { sub: 'id', 'address.locality': 'home.city', email: 'empty', phone_number: 'missing.path' }), {
    sub: 7,
    address: { locality: 'X' },
  });
});

test('html escapes by default; only http(s) URLs are used as links', () => {
  assert.equal(html`<p>${'<script>alert(1)</script>'}</p>`.value, '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  assert.equal(html`<a title="${'" onmouseover="x'}">`.value, '<a title="&quot; onmouseover=&quot;x">');
  assert.equal(safeUrl('javascript:alert(1)'), undefined);
  assert.equal(safeUrl('https://example.com/a.png'), 'https://example.com/a.png');
});
