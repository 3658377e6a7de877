/**
 * `npm run staff -- <command>`: manages the staff who may use the staff API (`/staff/v1`), in the
 * configured MONGODB_URI. Every change is written to the audit trail as done by the OS user.
 *
 *   add <name> --role <support|finance|admin> [--reason <text>]   prints the new bearer token,
 *                                                                   alone on the last line
 *   list                                                            everyone, revoked included
 *   revoke <name> [--reason <text>]                                 the token stops working now
 *
 * Exit code 0 when done, 1 when the store refused (name taken, unknown, already revoked), 2 on a
 * usage error or when it could not run.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase, type Models } from '../db/connect.js';
import { isStaffRole, STAFF_ROLES } from '../staff/roles.js';
import { addStaff, listStaff, revokeStaff, StaffError, type StaffMember } from '../staff/store.js';

const USAGE = `usage:
  npm run staff -- add <name> --role <${STAFF_ROLES.join('|')}> [--reason <text>]
  npm run staff -- list
  npm run staff -- revoke <name> [--reason <text>]
names are 1 to 64 of a-z, 0-9, ".", "_" and "-"`;

class UsageError extends Error {}

type Command = (models: Models) => Promise<void>;

function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { role: { type: 'string' }, reason: { type: 'string' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { positionals, values } = parsed;
  const [command, name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const reason = values.reason === undefined ? {} : { reason: values.reason };
  switch (command) {
    case 'add': {
      if (name === undefined) throw new UsageError('add needs a name');
      const role = values.role;
      if (role === undefined) throw new UsageError(`add needs --role (${STAFF_ROLES.join(', ')})`);
      if (!isStaffRole(role)) throw new UsageError(`--role must be one of ${STAFF_ROLES.join(', ')}`);
      return async (models) => {
        const { member, token } = await addStaff(models, name, role, reason);
        console.log(
          `added staff member ${member.name} (role ${member.role}); send this token as \`Authorization: Bearer <token>\` to /staff/v1. It is shown once and cannot be recovered:`,
        );
        console.log(token);
      };
    }
    case 'list': {
      if (name !== undefined) throw new UsageError('list takes no name');
      if (values.role !== undefined || values.reason !== undefined) throw new UsageError('list takes no options');
      return async (models) => printTable(await listStaff(models));
    }
    case 'revoke': {
      if (name === undefined) throw new UsageError('revoke needs a name');
      if (values.role !== undefined) throw new UsageError('revoke takes no --role');
      return async (models) => {
        const member = await revokeStaff(models, name, reason);
        console.log(`revoked staff member ${member.name} (role ${member.role}); its token no longer works`);
      };
    }
    case undefined:
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function printTable(members: StaffMember[]): void {
  if (members.length === 0) {
    console.log('no staff members yet: `npm run staff -- add <name> --role <role>` adds one');
    return;
  }
  const rows = [
    ['NAME', 'ROLE', 'CREATED', 'REVOKED'],
    ...members.map((m) => [m.name, m.role, m.createdAt.toISOString(), m.revokedAt?.toISOString() ?? '-']),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    );
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const database = await connectDatabase(config.MONGODB_URI, { timeoutMs: config.DEPENDENCY_TIMEOUT_MS }).catch(
    (err: unknown) => {
      throw new Error(
        `cannot reach MongoDB (MONGODB_URI): ${(err as Error).message}. Is it running? \`npm start\` provisions one.`,
      );
    },
  );
  try {
    await command(database.models);
    return 0;
  } catch (err) {
    if (!(err instanceof StaffError)) throw err;
    console.error(err.message);
    return 1;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : `staff: ${(err as Error).message}`);
    process.exit(2);
  },
);
