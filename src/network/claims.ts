/**
 * Scopes and claims as IDPartner names them (see docs/claims.md). The bank's
 * identity is normalized by its connector; the network derives `name` and the
 * age_over_* booleans at login time, from the bank's birthdate.
 */
export const SCOPE_CLAIMS = {
  email: ['email', 'email_verified'],
  profile: ['given_name', 'family_name', 'name', 'birthdate'],
  address: ['address'],
  phone: ['phone_number'],
  age_over_18: ['age_over_18'],
  age_over_21: ['age_over_21'],
  age_over_25: ['age_over_25'],
} as const satisfies Record<string, readonly string[]>;

export const SCOPES = ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS)];

export const CLAIM_LABELS: Record<string, string> = {
  sub: 'An identifier for you at this application',
  email: 'Email address',
  email_verified: 'Whether your email address is verified',
  given_name: 'First name',
  family_name: 'Last name',
  name: 'Full name',
  birthdate: 'Date of birth',
  address: 'Home address',
  phone_number: 'Phone number',
  age_over_18: 'Whether you are over 18',
  age_over_21: 'Whether you are over 21',
  age_over_25: 'Whether you are over 25',
};

export interface Address {
  street_address?: string;
  locality?: string;
  region?: string;
  postal_code?: string;
  country?: string;
  formatted?: string;
}

/** What a connector returns: the bank's subject and OIDC-standard claims. */
export interface NormalizedIdentity {
  subject: string;
  claims: {
    email?: string;
    email_verified?: boolean;
    given_name?: string;
    family_name?: string;
    name?: string;
    birthdate?: string;
    address?: Address;
    phone_number?: string;
  };
}

const BIRTHDATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Full years between birthdate (YYYY-MM-DD) and `at` (UTC calendar dates). */
export function ageOn(birthdate: string, at: Date): number | undefined {
  const m = BIRTHDATE.exec(birthdate);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  let age = at.getUTCFullYear() - y;
  const beforeBirthday = at.getUTCMonth() + 1 < mo || (at.getUTCMonth() + 1 === mo && at.getUTCDate() < d);
  if (beforeBirthday) age -= 1;
  return age;
}

/** The claims the network stores for an account at login time. */
export function networkClaims(identity: NormalizedIdentity, at = new Date()): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(identity.claims)) {
    if (v !== undefined && v !== null && v !== '') c[k] = v;
  }
  if (c.email === undefined) delete c.email_verified;
  else if (typeof c.email_verified !== 'boolean') c.email_verified = false; // unknown is not verified
  if (!c.name && (c.given_name || c.family_name)) c.name = [c.given_name, c.family_name].filter(Boolean).join(' ');
  if (typeof c.birthdate === 'string') {
    const age = ageOn(c.birthdate, at);
    if (age === undefined) {
      delete c.birthdate; // an unparseable date is not released, nor anything derived from it
    } else {
      c.age_over_18 = age >= 18;
      c.age_over_21 = age >= 21;
      c.age_over_25 = age >= 25;
    }
  }
  return c;
}

/** Human-readable value of a claim for the consent page. */
export function displayClaim(name: string, value: unknown): string {
  if (value === undefined || value === null) return 'not provided by your bank';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (name === 'address' && typeof value === 'object') {
    const a = value as Address;
    return a.formatted ?? [a.street_address, a.locality, a.region, a.postal_code, a.country].filter(Boolean).join(', ');
  }
  return String(value);
}
