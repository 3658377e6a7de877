import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Files the provisioned servers create are readable by their owner only (0600, folders 0700). */
export const PRIVATE_UMASK = 0o077;

/**
 * Runs `spawnChild` (a synchronous `spawn`) under {@link PRIVATE_UMASK}, so the child and every
 * file it creates (the Temporal SQLite file, FerretDB's databases, keyrings) start private. The
 * child inherits the mask when it is forked, inside the call; ours is restored right after.
 * Worker threads cannot change the mask: there the child keeps the process's.
 */
export function withPrivateUmask<T>(spawnChild: () => T): T {
  let previous: number | undefined;
  try {
    previous = process.umask(PRIVATE_UMASK);
  } catch {
    previous = undefined;
  }
  try {
    return spawnChild();
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/**
 * Makes `root` a private folder: created 0700 when missing, and every folder under it set to 0700
 * and every file to 0600, for data written before files were created private (symbolic links are
 * left alone). Returns the paths it could not change (another user's files), for a warning.
 */
export function makePrivateTree(root: string): string[] {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const refused: string[] = [];
  const visit = (path: string) => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat || stat.isSymbolicLink()) return;
    const mode = stat.isDirectory() ? 0o700 : 0o600;
    if (stat.isDirectory() || stat.isFile()) {
      if ((stat.mode & 0o777) !== mode) {
        try {
          chmodSync(path, mode);
        } catch {
          refused.push(path);
        }
      }
    }
    if (!stat.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      refused.push(path);
      return;
    }
    for (const name of names) visit(join(path, name));
  };
  visit(root);
  return refused;
}

/** {@link makePrivateTree} for a folder that may not exist yet (a keys folder the services create). */
export function makePrivateTreeIfPresent(root: string): string[] {
  return existsSync(root) ? makePrivateTree(root) : [];
}
