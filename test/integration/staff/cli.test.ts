import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, type Database } from '../../../src/db/connect.js';
import { authenticateStaff } from '../../../src/staff/store.js';
import { STAFF_TOKEN_PATTERN } from '../../../src/staff/tokens.js';
import { PROJECT_ROOT } from '../../../src/worker/workflow-bundle.js';
import { uniqueId } from '../../support/builders.js';
import { withDatabase } from '../../support/stack.js';

/** `npm run staff -- ...` (src/tools/staff.ts) as an operator runs it, against a database of its own. */
const mongodbUri = withDatabase(inject('mongoUri'), uniqueId('kp_staff_cli').replace(/-/g, '_'));
let database: Database;

beforeAll(async () => {
  database = await connectDatabase(mongodbUri, { timeoutMs: 10_000 });
});
afterAll(async () => {
  await database?.connection.dropDatabase();
  await database?.close();
});

function runStaffCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npx', ['tsx', 'src/tools/staff.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_ENV: 'development', MONGODB_URI: mongodbUri },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run staff', () => {
  it('adds a member and prints a token alone on the last line that authenticates as them', async () => {
    const added = await runStaffCli(['add', 'carol.finance', '--role', 'finance']);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const lines = added.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[0]).toMatch(/added staff member carol\.finance \(role finance\)/);
    const token = lines.at(-1)!;
    expect(token).toMatch(STAFF_TOKEN_PATTERN);
    expect(await authenticateStaff(database.models, token)).toEqual({ name: 'carol.finance', role: 'finance' });

    const list = await runStaffCli(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+ROLE\s+CREATED\s+REVOKED$/m);
    expect(list.stdout).toMatch(/^carol\.finance\s+finance\s+\d{4}-\d\d-\d\dT\S+\s+-$/m);
    expect(list.stdout).not.toContain(token);

    const again = await runStaffCli(['add', 'carol.finance', '--role', 'admin']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists: revoke it first/);

    const revoked = await runStaffCli(['revoke', 'carol.finance']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked staff member carol\.finance/);
    expect(await authenticateStaff(database.models, token)).toBeNull();
    const listed = await runStaffCli(['list']);
    expect(listed.stdout).toMatch(/^carol\.finance\s+finance\s+\S+\s+\d{4}-\d\d-\d\dT\S+$/m);

    const trail = await database.models.auditEntries.find({ target: 'staff:carol.finance' }).lean();
    expect(trail.map((e) => e.action).sort()).toEqual(['staff.add', 'staff.revoke']);
    expect(trail.every((e) => e.via === 'cli')).toBe(true);
  });

  it.each([[[]], [['add', 'dave']], [['add', 'dave', '--role', 'root']], [['promote', 'dave']], [['list', '--bogus']]])(
    'prints usage and exits 2 for %j',
    async (args) => {
      const run = await runStaffCli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('usage:');
      expect(run.stdout).toBe('');
    },
  );

  it('says what to do when a name is invalid or unknown', async () => {
    const invalid = await runStaffCli(['add', 'Dave Smith', '--role', 'support']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/not a valid staff name: use 1 to 64 of a-z/);
    const unknown = await runStaffCli(['revoke', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/npm run staff -- list/);
  });
});
