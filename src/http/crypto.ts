/** Small shared primitives: keyed MACs for CSRF tokens and signed values, constant-time comparison. */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const hmac = (secret: string, data: string): string => createHmac('sha256', secret).update(data).digest('base64url');

/** Constant-time string equality (false for different lengths, or a missing value). */
export function safeEqual(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** localhost, 127.0.0.1 or [::1]: the only hosts where plain http is accepted. */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK.has(hostname);
