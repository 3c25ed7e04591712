import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const loginsStarted = new client.Counter({ name: 'trustlane_bank_logins_started_total', help: 'Bank logins started', labelNames: ['bank'], registers: [registry] });
export const loginsCompleted = new client.Counter({ name: 'trustlane_bank_logins_completed_total', help: 'Bank logins completed with an identity', labelNames: ['bank'], registers: [registry] });
export const loginsFailed = new client.Counter({ name: 'trustlane_bank_logins_failed_total', help: 'Bank logins failed, by OAuth error returned to the app', labelNames: ['bank', 'error'], registers: [registry] });
export const httpRequests = new client.Counter({ name: 'trustlane_http_requests_total', help: 'HTTP requests by route group and status class', labelNames: ['group', 'status'], registers: [registry] });
