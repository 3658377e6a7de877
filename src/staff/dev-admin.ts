import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Models } from '../db/connect.js';
import { addStaff, authenticateStaff, StaffError } from './store.js';

/** The staff member `npm start` creates in development when there is no staff yet. */
export const DEV_ADMIN_NAME = 'dev-admin';

export function devAdminTokenPath(keysDir: string): string {
  return join(keysDir, 'staff-dev-admin.token');
}

/**
 * What {@link ensureDevAdmin} did: `created` the development admin and wrote its token,
 * `reused` the token already on file, or `skipped` because staff exist that were not made here
 * (a deployment's staff are added by hand; a token is never minted behind their back).
 */
export type DevAdminOutcome = { state: 'created' | 'reused' | 'skipped'; tokenPath: string };

/**
 * For development only: makes sure there is a staff token to try the staff API with. When the
 * token file under `keysDir` still authenticates as `dev-admin`, nothing changes; when there is
 * no staff member at all, `dev-admin` (role admin) is added and its token written to the file,
 * readable by this user only.
 */
export async function ensureDevAdmin(models: Models, keysDir: string): Promise<DevAdminOutcome> {
  const tokenPath = devAdminTokenPath(keysDir);
  if (existsSync(tokenPath)) {
    const identity = await authenticateStaff(models, readFileSync(tokenPath, 'utf8').trim());
    if (identity?.name === DEV_ADMIN_NAME) return { state: 'reused', tokenPath };
  }
  if (await models.staffMembers.exists({})) return { state: 'skipped', tokenPath };
  let token: string;
  try {
    ({ token } = await addStaff(models, DEV_ADMIN_NAME, 'admin', { reason: 'development admin created by npm start' }));
  } catch (err) {
    // Another `npm start` on the same database created it first; its token is in its file.
    if (err instanceof StaffError && err.code === 'staff_exists') return { state: 'skipped', tokenPath };
    throw err;
  }
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  // Written aside and renamed, so a stale token file is replaced whole and never readable by others.
  const tmp = `${tokenPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  renameSync(tmp, tokenPath);
  return { state: 'created', tokenPath };
}

/** The `Staff token` row of the `npm start` banner. */
export function devAdminBannerRow(outcome: DevAdminOutcome, apiUrl: string): string {
  if (outcome.state === 'skipped') {
    return `none issued: staff members exist already; \`npm run staff -- add <name> --role admin\` issues a token`;
  }
  return `${outcome.tokenPath}  (${DEV_ADMIN_NAME}, role admin${outcome.state === 'created' ? ', new' : ''}; curl -H "Authorization: Bearer $(cat ${outcome.tokenPath})" ${apiUrl}/staff/v1/me)`;
}
