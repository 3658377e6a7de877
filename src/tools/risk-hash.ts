/**
 * `npm run risk-hash -- customer <customerId>` or `npm run risk-hash -- address <ip>`: prints the
 * keyed hash the risk check knows a customer or a client address by, for RISK_BLOCKED_CUSTOMERS
 * and RISK_BLOCKED_ADDRESSES (the configured KEYS_DIR's keyring holds the key). Exit code 2 when
 * it could not run.
 */
import { ConfigError, loadConfig } from '../config.js';
import { keyringFor } from '../crypto/keyring.js';
import { riskSubjectHash } from '../payments/identity.js';

function main(): number {
  const [kind, value, ...rest] = process.argv.slice(2);
  if ((kind !== 'customer' && kind !== 'address') || value === undefined || value === '' || rest.length > 0) {
    console.error('usage: npm run risk-hash -- customer <customerId> | address <ip>');
    return 2;
  }
  const keyring = keyringFor(loadConfig(), 'api');
  console.log(riskSubjectHash(kind, value, keyring.paymentIdKey));
  return 0;
}

try {
  process.exit(main());
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `risk-hash failed: ${(err as Error).message}`);
  process.exit(2);
}
