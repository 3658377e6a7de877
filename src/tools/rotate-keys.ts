/**
 * `npm run keys:rotate -- <section> [--retire <keyId> [--yes]]`: rotates one section of the
 * keyring at `KEYS_DIR/keyring.json` (the configured KEYS_DIR), or retires one of its older keys.
 *
 *   codec      the Temporal workflow history master key (src/temporal/codec.ts)
 *   at-rest    the MongoDB field encryption key (src/crypto/field-cipher.ts)
 *   vouchers   the voucher and ledger-seal signing key (src/vouchers/voucher.ts)
 *
 * The keyring is replaced atomically: the new one is written to a 0600 temporary file in the same
 * folder, checked, and renamed over the old one. Running processes keep the keys they loaded at
 * start, so the new key takes effect when they restart. Exit code 0 when the keyring changed, 2
 * when it did not (bad usage, refused, or could not run).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, keysDirSchema, parseEnv } from '../config.js';
import {
  KeyRotationError,
  ROTATABLE_SECTIONS,
  SECTIONS,
  isRotatableSection,
  retireKey,
  rotateKeys,
  type RotatableSection,
} from '../crypto/key-rotation.js';
import { keyringPath, loadKeyring, type Keyring } from '../crypto/keyring.js';

const USAGE = [
  'usage: npm run keys:rotate -- <section> [--retire <keyId> [--yes]]',
  '',
  `  <section>          one of ${ROTATABLE_SECTIONS.join(', ')}`,
  '                     without --retire: add a fresh key to the section and make it the active one',
  '  --retire <keyId>   remove an older, non-active key of the section for good',
  '  --yes              confirm a retirement (data or vouchers under the key stop being readable)',
].join('\n');

/** Bad usage: the message and the usage text are printed, and the tool exits with code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface Args {
  section: RotatableSection;
  retire: string | undefined;
  yes: boolean;
}

function parseArgs(argv: string[]): Args | 'help' {
  let section: string | undefined;
  let retire: string | undefined;
  let yes = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--yes' || arg === '-y') yes = true;
    else if (arg === '--retire' || arg.startsWith('--retire=')) {
      const value = arg === '--retire' ? argv[++i] : arg.slice('--retire='.length);
      if (!value || value.startsWith('-')) throw new UsageError('--retire needs the id of the key to remove');
      if (retire !== undefined) throw new UsageError('--retire may be given once: retire one key per run');
      retire = value;
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else if (section === undefined) section = arg;
    else throw new UsageError(`unexpected argument ${arg}: give one section per run`);
  }
  if (section === undefined) throw new UsageError('name the section to rotate');
  if (!isRotatableSection(section)) {
    throw new UsageError(`unknown section ${section}: expected one of ${ROTATABLE_SECTIONS.join(', ')}`);
  }
  if (yes && retire === undefined) throw new UsageError('--yes only confirms a --retire');
  return { section, retire, yes };
}

/**
 * Replaces the keyring at `path` with `keyring`: writes a 0600 temporary file next to it, checks
 * it loads, and renames it over the original, so readers see either the old file or the new one.
 * Refuses when the file changed since it was read (`original`), so two concurrent runs cannot
 * silently drop each other's key.
 */
function replaceKeyring(path: string, original: string, keyring: Keyring): void {
  const tmp = `${path}.rotate.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, JSON.stringify(keyring, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    loadKeyring(tmp);
    if (readFileSync(path, 'utf8') !== original) {
      throw new Error(`${path} changed while this rotation ran (another rotation?): nothing was written, run it again`);
    }
    renameSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EBUSY') {
      throw new Error(
        `cannot write the keyring in ${dirname(path)} (${code}): if KEYS_DIR is a read-only secret mount, copy ` +
          'keyring.json to a writable folder, run the rotation there with KEYS_DIR pointing at it, and store the ' +
          'result in the secret store',
      );
    }
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  // Makes the rename itself durable; some file systems cannot fsync a folder, which is harmless.
  try {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // The rename has happened; only its durability across a power loss is not confirmed.
  }
}

function printNextSteps(section: RotatableSection, path: string, retired: boolean): void {
  console.log('');
  console.log('next:');
  console.log(`  1. In a multi-process deployment, distribute the new ${path} to every API and worker`);
  console.log('     process (or update the secret store it is mounted from) before restarting any of them.');
  console.log('  2. Restart the API and worker processes: they load the keyring at start only.');
  if (retired) {
    console.log('     Until a process restarts it still holds the retired key. Keep a backup of the previous');
    console.log('     keyring.json in the secret store if anything written under that key may need reading again.');
  } else if (section === 'codec') {
    console.log('     Until a process restarts it keeps encrypting under the old key; that stays readable because');
    console.log('     the old key is kept. A process still holding the old keyring cannot read payloads written');
    console.log('     under the new key, which is why step 1 comes first.');
  } else if (section === 'at-rest') {
    console.log('     A process still holding the old keyring cannot read fields written under the new key,');
    console.log('     which is why step 1 comes first.');
  } else {
    console.log('     Restarted API processes publish the new key in the voucher JWKS; platforms that cache the');
    console.log('     JWKS fetch it again when they meet a voucher with an unknown key id.');
  }
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  const config = parseEnv(keysDirSchema, process.env);
  const path = keyringPath(config.KEYS_DIR);
  if (!existsSync(path)) {
    throw new Error(
      `no keyring at ${path} (KEYS_DIR): set KEYS_DIR to the folder of the keyring.json to rotate ` +
        '(a development keyring is generated by starting the API once with the sandbox on)',
    );
  }
  const original = readFileSync(path, 'utf8');
  const keyring = loadKeyring(path);
  const { section } = args;
  const what = SECTIONS[section].what;

  if (args.retire !== undefined) {
    const result = retireKey(keyring, section, args.retire);
    if (!args.yes) {
      console.error(`WARNING: ${result.warning}`);
      console.error(`nothing was changed: run again with --yes to retire ${section} key ${result.retiredKeyId}`);
      return 2;
    }
    replaceKeyring(path, original, result.keyring);
    console.log(`WARNING: ${result.warning}`);
    console.log('');
    console.log(`keyring ${path}`);
    console.log(`  section:     ${section} (${what})`);
    console.log(`  retired key: ${result.retiredKeyId}`);
    console.log(`  active key:  ${result.activeKeyId} (unchanged)`);
    console.log(`  keys left:   ${result.remainingKeyIds.join(', ')}`);
    printNextSteps(section, path, true);
    return 0;
  }

  const result = rotateKeys(keyring, section);
  replaceKeyring(path, original, result.keyring);
  console.log(`keyring ${path}`);
  console.log(`  section:             ${section} (${what})`);
  console.log(`  new active key:      ${result.newKeyId}`);
  console.log(`  previous active key: ${result.previousActiveKeyId}`);
  console.log(`  older keys kept:     ${result.keptKeyIds.join(', ')}`);
  if (result.privateKeysDropped.length > 0) {
    console.log(
      `  private keys dropped (public keys kept, they still verify): ${result.privateKeysDropped.join(', ')}`,
    );
  }
  printNextSteps(section, path, false);
  return 0;
}

try {
  process.exitCode = main();
} catch (err: unknown) {
  if (err instanceof UsageError) console.error(`keys:rotate: ${err.message}\n\n${USAGE}`);
  else if (err instanceof ConfigError) console.error(err.message);
  else if (err instanceof KeyRotationError) console.error(`keys:rotate: ${err.message}`);
  else console.error(`keys:rotate failed: ${(err as Error).message}`);
  process.exitCode = 2;
}
