/**
 * `npm run ledger:verify`: checks the voucher ledger against the vouchers in MongoDB (the
 * configured MONGODB_URI and KEYS_DIR) and says what was deleted, altered or slipped in. Exit
 * code 0 when intact, 1 when not, 2 when it could not run.
 */
import { ConfigError, loadConfig } from '../config.js';
import { keyringFor } from '../crypto/keyring.js';
import { connectDatabase } from '../db/connect.js';
import { verifyStoredLedger } from '../vouchers/ledger-store.js';

async function main(): Promise<number> {
  const config = loadConfig();
  const keyring = keyringFor(config);
  const database = await connectDatabase(config.MONGODB_URI, { timeoutMs: config.DEPENDENCY_TIMEOUT_MS });
  try {
    const { seals, vouchers, problems } = await verifyStoredLedger(database.models, keyring.vouchers);
    console.log(`voucher ledger: ${seals} seals, ${vouchers} vouchers on record`);
    for (const problem of problems) console.log(`  PROBLEM ${JSON.stringify(problem)}`);
    console.log(problems.length === 0 ? 'intact' : `${problems.length} problems: the ledger was tampered with`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : `ledger:verify failed: ${(err as Error).message}`);
    process.exit(2);
  },
);
