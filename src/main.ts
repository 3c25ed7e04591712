/** `npm start`: one node of the network on the configured store (WORKERS=N: N processes on one port). */
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';
import { DEMO_SETTING } from './demo/demo.js';
import { MIKOMO_USERS, FUTURE_USERS } from './sandbox-banks/test-users.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const log = createLogger(config.logLevel);

if (config.workers > 1 && cluster.isPrimary) {
  // Nodes are stateless, so N workers on one machine act as one (the store is shared).
  let stopping = false;
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ worker: worker.id, code, signal }, 'worker exited; starting another');
    cluster.fork();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill(sig);
    });
  }
} else try {
  const running = await startServer(config, log);
  const demo = config.seedDemo ? (JSON.parse((await running.store.getSetting(DEMO_SETTING)) ?? 'null') as { client_id: string; client_secret: string } | null) : null;
  const lines = [
    '',
    `TrustLane is running at ${running.url}  (store: ${running.store.engine}${running.store.engine === 'sqlite' ? ` ${config.sqlitePath}` : ''})`,
    `  OpenID Provider (issuer) ${running.url}/oidc   discovery: ${running.url}/oidc/.well-known/openid-configuration`,
    `  Developer console ${running.url}/console  (mail: ${config.smtpUrl ? 'SMTP' : `no SMTP_URL, written to ${config.outboxDir} and its links logged`})`,
    ...(demo
      ? [
          `  Demo app:   ${running.url}/demo`,
          `  Demo application credentials (sandbox, client_secret_basic):`,
          `    client_id     ${demo.client_id}`,
          `    client_secret ${demo.client_secret}`,
          `    redirect_uri  ${running.url}/demo/callback`,
        ]
      : []),
    ...(config.sandboxBanks
      ? [`  Sandbox banks: Mikomo Bank (${MIKOMO_USERS.map((u) => u.username).join(', ')}), Future Bank (${FUTURE_USERS.map((u) => u.username).join(', ')}); password = username`]
      : []),
    `  Health ${running.url}/healthz  Readiness ${running.url}/readyz  Metrics ${running.url}/metrics`,
    '',
  ];
  if (!cluster.isWorker || cluster.worker?.id === 1) console.log(lines.join('\n'));
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  log.fatal({ err }, 'TrustLane could not start');
  console.error(`TrustLane could not start: ${(err as Error).message}`);
  process.exit(1);
}
