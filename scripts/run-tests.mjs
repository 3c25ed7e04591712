#!/usr/bin/env node
// Runs the test files under the given folders (default: test/) with node:test and tsx.
// Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = [];
const walk = (p) => {
  const st = fs.statSync(p);
  if (st.isDirectory()) for (const f of fs.readdirSync(p).sort()) walk(path.join(p, f));
  else if (/\.test\.ts$|\.spec\.js$/.test(p)) files.push(p);
};
for (const r of roots.length ? roots : ['test', 'integrations']) walk(r);
if (!files.length) {
  console.error('no test files found');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...extra, ...files], { stdio: 'inherit' });
process.exit(res.status ?? 1);
