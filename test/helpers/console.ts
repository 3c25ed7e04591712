/**
 * Console helpers for tests: a verified account with an OTP, created directly
 * in the store for speed, then signed in through the real pages (GET/POST
 * /console/login, POST /console/otp), so the agent holds a real full session.
 */
import assert from 'node:assert/strict';
import { Agent, formOf } from './agent.js';
import type { TestNetwork } from './network.js';
import { ConsoleRepository } from '../../src/console/repository.js';
import { hashPassword } from '../../src/console/passwords.js';
import { newTotpSecret, totpFor } from '../../src/console/otp.js';

export const CONSOLE_PASSWORD = 'lantern-orchard-violet-73';

export interface SignedInConsole {
  agent: Agent;
  email: string;
  accountId: string;
}

export async function signUpAndSignIn(net: TestNetwork, agent: Agent = new Agent(), email = `dev-${Math.random().toString(36).slice(2, 10)}@example.com`): Promise<SignedInConsole> {
  const repo = new ConsoleRepository(net.store.db);
  const account = await repo.createAccount(email, await hashPassword(CONSOLE_PASSWORD));
  assert.ok(account, `could not create the console account ${email}`);
  await repo.markVerified(account.id);
  const secret = newTotpSecret();
  await repo.setTotp(account.id, secret, 0);

  const login = await agent.go(`${net.url}/console/login`);
  assert.equal(login.status, 200);
  const lf = formOf(login.body, '/console/login');
  const otp = await agent.go(new URL(lf.action, login.url).href, { form: { ...lf.fields, email, password: CONSOLE_PASSWORD } });
  assert.equal(new URL(otp.url).pathname, '/console/otp', `expected the OTP page after the password, got ${otp.status} ${otp.url}`);
  const of = formOf(otp.body, '/console/otp');
  const done = await agent.go(new URL(of.action, otp.url).href, { form: { ...of.fields, code: totpFor(secret, email).generate() } });
  assert.equal(new URL(done.url).pathname, '/console/applications', `expected the console after the OTP, got ${done.status} ${done.url}`);
  assert.equal(done.status, 200);
  return { agent, email, accountId: account.id };
}

/** A fresh API token for the account (as "API tokens" in the console creates it). */
export async function apiToken(net: TestNetwork, accountId: string, name = 'test'): Promise<string> {
  const { token } = await new ConsoleRepository(net.store.db).createApiToken(accountId, name);
  return token;
}
