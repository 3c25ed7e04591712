import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, formOf } from '../helpers/agent.js';
import { openTestStore, startTestNetwork } from '../helpers/network.js';

test('without SMTP_URL, mail goes to the outbox folder with its link (Quick start works offline)', async () => {
  const outbox = fs.mkdtempSync(path.join(os.tmpdir(), 'trustlane-outbox-'));
  const handle = await openTestStore();
  const net = await startTestNetwork(handle.store, { OUTBOX_DIR: outbox });
  try {
    const agent = new Agent();
    const page = await agent.go(`${net.url}/console/signup`);
    const form = formOf(page.body, '/console/signup');
    const done = await agent.go(new URL(form.action, net.url).href, { form: { ...form.fields, email: 'offline@example.com', password: 'quiet-river-stone-31' } });
    assert.match(done.body, /Check your inbox/);
    const files = fs.readdirSync(outbox);
    assert.equal(files.length, 1);
    const eml = fs.readFileSync(path.join(outbox, files[0]!), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const link = /https?:\/\/[^\s"<>]+\/console\/verify\?token=[A-Za-z0-9_-]+/.exec(eml)?.[0];
    assert.ok(link, 'the verification link is in the outbox mail');
    assert.match((await agent.go(link)).body, /Your email is verified/);
  } finally {
    await net.close();
    await handle.cleanup();
    fs.rmSync(outbox, { recursive: true, force: true });
  }
});
