/**
 * The Auth0 "Fetch User Profile Script" as Auth0's field takes it
 * (`function (accessToken, ctx, callback) { … }`), made from the module in
 * integrations/auth0/fetchUserProfile.js with this deployment's host filled in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../integrations/auth0/fetchUserProfile.js');
const PLACEHOLDER = 'https://YOUR_TRUSTLANE_HOST';

let source: string | undefined;

export function profileScript(base: string): string {
  source ??= fs.readFileSync(FILE, 'utf8');
  const start = source.indexOf('module.exports = function fetchUserProfile(');
  const end = source.lastIndexOf('};');
  if (start < 0 || end < start) throw new Error('integrations/auth0/fetchUserProfile.js does not have the expected module form');
  const fn = source.slice(start + 'module.exports = '.length, end + 1).replace(/^function fetchUserProfile\(/, 'function (');
  return `${fn.split(PLACEHOLDER).join(base)}\n`;
}
