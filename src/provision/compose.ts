import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../worker/workflow-bundle.js';
import { onPath, runToCompletion, say, withProgress } from './processes.js';

const COMPOSE_SOURCE = join(PROJECT_ROOT, 'src/provision/compose');
const COMPOSE_VERSION = 'v5.6.0';

/** How to run Docker Compose: the command and the arguments before the subcommand. */
export interface DockerCompose {
  command: string;
  args: string[];
}

/** The major version `docker compose version --short` (or `docker-compose`) prints, if it runs. */
function composeMajor(command: string, args: string[]): number | undefined {
  const result = spawnSync(command, [...args, 'version', '--short'], { encoding: 'utf8', timeout: 10_000 });
  const major = /^v?(\d+)\./.exec(result.stdout.trim())?.[1];
  return result.status === 0 && major !== undefined ? Number(major) : undefined;
}

/**
 * A Docker Compose (v2 or later) for checking docker-compose.yml with `compose config`, choosing
 * in this order and saying which: `DOCKER_COMPOSE_PATH` if set; the `docker compose` plugin; a
 * `docker-compose` on PATH that is v2 or later (Debian's 1.29 predates parts of the Compose
 * specification the file uses); Docker Compose v5.6.0 built once from the Go module proxy by
 * the module in `src/provision/compose` and cached. Undefined, with a message saying what to do,
 * when none can be had.
 */
export async function provisionDockerCompose(cacheDir: string): Promise<DockerCompose | undefined> {
  const given = process.env.DOCKER_COMPOSE_PATH;
  if (given) {
    say(`Docker Compose: DOCKER_COMPOSE_PATH (${given})`);
    return { command: given, args: [] };
  }
  const docker = onPath('docker');
  if (docker && (composeMajor(docker, ['compose']) ?? 0) >= 2) {
    say(`Docker Compose: the docker compose plugin (${docker} compose)`);
    return { command: docker, args: ['compose'] };
  }
  const standalone = onPath('docker-compose');
  if (standalone && (composeMajor(standalone, []) ?? 0) >= 2) {
    say(`Docker Compose: ${standalone}`);
    return { command: standalone, args: [] };
  }
  try {
    const binary = await buildDockerCompose(cacheDir);
    return binary === undefined ? undefined : { command: binary, args: [] };
  } catch (err) {
    say(`Docker Compose: could not build it (${(err as Error).message}); set DOCKER_COMPOSE_PATH`);
    return undefined;
  }
}

async function buildDockerCompose(cacheDir: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'tools.go']) hash.update(readFileSync(join(COMPOSE_SOURCE, file)));
  const binary = join(cacheDir, 'bin', `docker-compose-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(binary)) {
    say(`Docker Compose: ${COMPOSE_VERSION} cached at ${binary}`);
    return binary;
  }
  const go = onPath('go');
  if (!go) {
    say(
      'Docker Compose: no docker compose plugin, no docker-compose v2+ on PATH and no Go toolchain to build one; ' +
        'install one of them or set DOCKER_COMPOSE_PATH',
    );
    return undefined;
  }
  mkdirSync(join(cacheDir, 'bin'), { recursive: true });
  const logFile = join(cacheDir, 'logs', 'docker-compose-build.log');
  const partial = `${binary}.${process.pid}.partial`;
  await withProgress(
    `Docker Compose: building ${COMPOSE_VERSION} with ${go} from the Go module proxy (first run only; about two minutes; log ${logFile})`,
    () =>
      runToCompletion(
        'go build',
        go,
        [
          'build',
          '-trimpath',
          '-ldflags',
          `-w -X github.com/docker/compose/v5/internal.Version=${COMPOSE_VERSION}`,
          '-o',
          partial,
          'github.com/docker/compose/v5/cmd',
        ],
        { logFile, cwd: COMPOSE_SOURCE, env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' } },
      ),
  );
  // Another process building at the same time renames the same bytes over it: never half a binary.
  renameSync(partial, binary);
  return binary;
}
