import type { Bank } from '../store/store.js';
import type { Connector, ConnectorOptions } from './connector.js';
import { OidcConnector } from './oidc.js';
import { OAuth2Connector } from './oauth2.js';

export * from './connector.js';

/** The connector for a bank record, by its kind. */
export function connectorFor(bank: Bank, options: ConnectorOptions): Connector {
  switch (bank.kind) {
    case 'oidc':
      return new OidcConnector(bank, options);
    case 'oauth2':
      return new OAuth2Connector(bank, options);
  }
}
