/**
 * TOTP (RFC 6238) with authenticator-app defaults: SHA-1, 6 digits, 30 s.
 * A code is accepted for its time step ±1; a time step is used once per account.
 */
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import { randomBytes } from 'node:crypto';

export const TOTP_PERIOD = 30;

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

export function totpFor(secret: string, email: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer: 'TrustLane', label: email, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD, secret: OTPAuth.Secret.fromBase32(secret) });
}

/** The time step the code belongs to, or undefined when it is wrong. */
export function totpStep(secret: string, email: string, code: string, at = Date.now()): number | undefined {
  const clean = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(clean)) return undefined;
  const delta = totpFor(secret, email).validate({ token: clean, timestamp: at, window: 1 });
  if (delta === null) return undefined;
  return Math.floor(at / 1000 / TOTP_PERIOD) + delta;
}

export async function qrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 220 });
}

/** Ten one-time recovery codes, like "7k3m-9q2x-p4t8". */
export function newRecoveryCodes(n = 10): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return Array.from({ length: n }, () => {
    const b = randomBytes(12);
    const chars = Array.from(b, (x) => alphabet[x % alphabet.length]).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
  });
}
