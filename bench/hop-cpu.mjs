/**
 * CPU per request kind, for `npm run bench:login` at concurrency 1:
 *
 *   BENCH_ONLY=brokered BENCH_CONCURRENCY=1 BENCH_LOGINS=200 BENCH_WARMUP=30 \
 *     node --import ./bench/hop-cpu.mjs --import tsx bench/login.ts
 *
 * Loaded before the benchmark, it charges the process's CPU (process.cpuUsage:
 * all threads, so RSA work on libuv's pool counts) to the innermost HTTP request
 * being served when the CPU was used; a back-channel call made while serving a
 * request is charged to itself, not to its caller. CPU used while no request is
 * being served is the client's (and idle housekeeping). Only meaningful at
 * concurrency 1, where one login's requests never overlap. The first
 * HOP_CPU_SKIP requests (default 600, the warm-up) are not counted; logins are
 * counted by their last request (GET /oidc/me or GET /me). Printed at exit.
 */
import http from 'node:http';

const SKIP = Number(process.env.HOP_CPU_SKIP || 600);
const stats = new Map();
const stack = [];
let seen = 0;
let logins = 0;
let last = process.cpuUsage();

function charge() {
  const now = process.cpuUsage();
  const used = now.user - last.user + now.system - last.system;
  last = now;
  const key = stack.length ? stack[stack.length - 1] : 'client (no request being served)';
  stats.set(key, (stats.get(key) ?? 0) + used);
}

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request') {
    const key = `${req.method} ${req.url.split('?')[0].replace(/\/interaction\/[^/]+/, '/interaction/:id').replace(/\/auth\/[^/]+/, '/auth/:id')}`;
    seen++;
    if (seen === SKIP) {
      stats.clear();
      last = process.cpuUsage();
    }
    if (seen > SKIP && (key === 'GET /oidc/me' || key === 'GET /me')) logins++;
    charge();
    stack.push(key);
    res.on('finish', () => {
      charge();
      const i = stack.lastIndexOf(key);
      if (i >= 0) stack.splice(i, 1);
    });
  }
  return emit.apply(this, arguments);
};

process.on('exit', () => {
  charge();
  if (!logins) return;
  let total = 0;
  for (const v of stats.values()) total += v;
  console.log(`\nCPU per login by request (${logins} logins after the first ${SKIP} requests): ${(total / logins / 1000).toFixed(2)} ms in all\n`);
  console.log('| request | CPU ms per login |');
  console.log('|---|---:|');
  for (const [k, v] of [...stats].sort((a, b) => b[1] - a[1])) console.log(`| ${k} | ${(v / logins / 1000).toFixed(2)} |`);
});
