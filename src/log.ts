import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'trustlane' },
    redact: {
      paths: ['*.client_secret', '*.password', '*.code_verifier', '*.private_jwk', 'headers.authorization', 'headers.cookie'],
      censor: '[redacted]',
    },
  });
}
