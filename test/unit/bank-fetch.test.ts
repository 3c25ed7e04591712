import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bankFetch, MAX_BODY_BYTES } from '../../src/connectors/http.js';
import { classifyBankError } from '../../src/connectors/connector.js';

// A local server with one route per behaviour the connectors' HTTP client must handle.
let server: http.Server;
let base: string;
before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/echo') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, contentType: req.headers['content-type'], body, custom: req.headers['x-custom'] }));
      } else if (req.url === '/huge') {
        res.end(Buffer.alloc(MAX_BODY_BYTES + 1, 'a'));
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000).unref();
      } else if (req.url === '/no-content') {
        res.statusCode = 204;
        res.end();
      } else {
        res.statusCode = 503;
        res.setHeader('www-authenticate', 'Bearer error="x"');
        res.end('down');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const signal = () => AbortSignal.timeout(1000);

test('bankFetch sends the method, headers and a form body, and returns a Response', async () => {
  const res = await bankFetch(`${base}/echo`, { method: 'POST', headers: { 'x-custom': 'yes', 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body: new URLSearchParams({ a: '1', b: 'two words' }), redirect: 'manual', signal: signal() });
  assert.ok(res instanceof Response);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.deepEqual(await res.json(), { method: 'POST', contentType: 'application/x-www-form-urlencoded;charset=UTF-8', body: 'a=1&b=two+words', custom: 'yes' });
});

test('bankFetch passes status codes and headers through, including bodiless answers', async () => {
  const down = await bankFetch(`${base}/other`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual', signal: signal() });
  assert.equal(down.status, 503);
  assert.equal(down.headers.get('www-authenticate'), 'Bearer error="x"');
  assert.equal(await down.text(), 'down');
  const empty = await bankFetch(`${base}/no-content`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual', signal: signal() });
  assert.equal(empty.status, 204);
});

test('bankFetch refuses an answer over MAX_BODY_BYTES (server_error), a cut-off answer and a timeout (temporarily_unavailable)', async () => {
  const huge = await bankFetch(`${base}/huge`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual', signal: signal() }).then(
    () => assert.fail('a huge answer must be refused'),
    (err) => err,
  );
  assert.equal(huge.code, 'TL_RESPONSE_TOO_LARGE');
  assert.equal(classifyBankError(huge, { slug: 'x' }).kind, 'server_error');

  const cut = await bankFetch(`${base}/cut`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual', signal: signal() }).then(
    () => assert.fail('a cut-off answer must be refused'),
    (err) => err,
  );
  assert.equal(classifyBankError(cut, { slug: 'x' }).kind, 'temporarily_unavailable');

  const started = Date.now();
  const slow = await bankFetch(`${base}/slow`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual', signal: AbortSignal.timeout(200) }).then(
    () => assert.fail('a slow answer must time out'),
    (err) => err,
  );
  assert.ok(Date.now() - started < 1500, 'the timeout is honoured');
  assert.equal(classifyBankError(slow, { slug: 'x' }).kind, 'temporarily_unavailable');
});
