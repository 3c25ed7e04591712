/**
 * Test users of the sandbox banks (username = password). Varied on purpose:
 * an adult with everything, a minor, someone without an email, addresses abroad.
 * Listed in the README and on each sandbox bank's login page.
 */
export interface TestUser {
  username: string;
  password: string;
  sub: string;
  given_name: string;
  family_name: string;
  email?: string;
  email_verified?: boolean;
  birthdate: string;
  phone_number?: string;
  address: { street_address: string; locality: string; region?: string; postal_code: string; country: string };
  note: string;
}

export const MIKOMO_USERS: TestUser[] = [
  {
    username: 'mikomo_10', password: 'mikomo_10', sub: 'mkm-0000000010',
    given_name: 'Philip', family_name: 'Lovett', email: 'PhilipHLovett@mikomotest.com', email_verified: true,
    birthdate: '1979-05-14', phone_number: '+16155550110',
    address: { street_address: '7572 Chowning Rd', locality: 'Springfield', region: 'TN', postal_code: '37172', country: 'US' },
    note: 'adult, every claim present',
  },
  {
    username: 'mikomo_11', password: 'mikomo_11', sub: 'mkm-0000000011',
    given_name: 'Ava', family_name: 'Chen', email: 'ava.chen@mikomotest.com', email_verified: true,
    birthdate: '2012-09-03', phone_number: '+16155550111',
    address: { street_address: '18 Maple Ave', locality: 'Nashville', region: 'TN', postal_code: '37203', country: 'US' },
    note: 'under 18',
  },
  {
    username: 'mikomo_12', password: 'mikomo_12', sub: 'mkm-0000000012',
    given_name: 'Marcus', family_name: 'Reed',
    birthdate: '1990-01-31', phone_number: '+15125550112',
    address: { street_address: '2200 S Lamar Blvd', locality: 'Austin', region: 'TX', postal_code: '78704', country: 'US' },
    note: 'no email address',
  },
  {
    username: 'mikomo_13', password: 'mikomo_13', sub: 'mkm-0000000013',
    given_name: 'Sofía', family_name: 'Álvarez García', email: 'sofia.alvarez@mikomotest.com', email_verified: false,
    birthdate: '2004-06-15', phone_number: '+34915550113',
    address: { street_address: 'Calle de Alcalá 42', locality: 'Madrid', postal_code: '28014', country: 'ES' },
    note: 'address abroad (Spain), email not verified, 22 years old',
  },
  {
    username: 'mikomo_14', password: 'mikomo_14', sub: 'mkm-0000000014',
    given_name: 'Jordan', family_name: 'Blake', email: 'jordan.blake@mikomotest.com', email_verified: true,
    birthdate: '2006-02-10',
    address: { street_address: '901 Broadway', locality: 'Nashville', region: 'TN', postal_code: '37203', country: 'US' },
    note: 'over 18 but under 21, no phone',
  },
];

export const FUTURE_USERS: TestUser[] = [
  {
    username: 'future_1', password: 'future_1', sub: 'FB-100001',
    given_name: 'Amelia', family_name: 'Hart', email: 'amelia.hart@futurebank.test', email_verified: true,
    birthdate: '1985-11-23', phone_number: '+15035550101',
    address: { street_address: '12 Harbour St', locality: 'Portland', region: 'OR', postal_code: '97209', country: 'US' },
    note: 'adult, every claim present',
  },
  {
    username: 'future_2', password: 'future_2', sub: 'FB-100002',
    given_name: 'Noah', family_name: 'Williams', email: 'noah.w@futurebank.test', email_verified: true,
    birthdate: '2011-07-30',
    address: { street_address: '77 Pine St', locality: 'Seattle', region: 'WA', postal_code: '98101', country: 'US' },
    note: 'under 18',
  },
  {
    username: 'future_3', password: 'future_3', sub: 'FB-100003',
    given_name: 'Yuki', family_name: 'Tanaka',
    birthdate: '1972-03-08', phone_number: '+81355550103',
    address: { street_address: '1-2-3 Jingumae', locality: 'Shibuya-ku, Tokyo', postal_code: '150-0001', country: 'JP' },
    note: 'no email, address abroad (Japan)',
  },
];

/** OIDC standard claims of a test user (Mikomo Bank, an OIDC bank). */
export function oidcClaims(u: TestUser): Record<string, unknown> {
  return {
    sub: u.sub,
    given_name: u.given_name,
    family_name: u.family_name,
    name: `${u.given_name} ${u.family_name}`,
    birthdate: u.birthdate,
    ...(u.email ? { email: u.email, email_verified: u.email_verified ?? false } : {}),
    ...(u.phone_number ? { phone_number: u.phone_number } : {}),
    address: { ...u.address },
  };
}

/** Future Bank's own field names (so the network's claim mapping is real). */
export function futureBankProfile(u: TestUser): Record<string, unknown> {
  return {
    customer_number: u.sub,
    first_name: u.given_name,
    surname: u.family_name,
    ...(u.email ? { email_address: u.email, email_confirmed: u.email_verified ?? false } : {}),
    date_of_birth: u.birthdate,
    ...(u.phone_number ? { mobile: u.phone_number } : {}),
    home_address: { line1: u.address.street_address, city: u.address.locality, state: u.address.region ?? null, zip: u.address.postal_code, country_code: u.address.country },
  };
}

/** The network's claim mapping for Future Bank (normalized claim -> Future Bank path). */
export const FUTURE_BANK_CLAIM_MAPPING: Record<string, string> = {
  sub: 'customer_number',
  given_name: 'first_name',
  family_name: 'surname',
  email: 'email_address',
  email_verified: 'email_confirmed',
  birthdate: 'date_of_birth',
  phone_number: 'mobile',
  'address.street_address': 'home_address.line1',
  'address.locality': 'home_address.city',
  'address.region': 'home_address.state',
  'address.postal_code': 'home_address.zip',
  'address.country': 'home_address.country_code',
};
