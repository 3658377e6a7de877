import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';

interface ResolvedService {
  image?: string;
  ports?: { host_ip?: string; published?: string; target: number }[];
  volumes?: { type: string; source: string; target: string; read_only?: boolean }[];
}

/**
 * Docker Compose itself reads docker-compose.yml (`docker compose config`: parsed against the
 * Compose specification, variables resolved, nothing started), on the machine's plugin or the
 * Compose the test setup built (src/provision/compose.ts).
 */
function composeConfig(...args: string[]): {
  status: number | null;
  stderr: string;
  services: Record<string, ResolvedService>;
} {
  const [command, ...leading] = inject('dockerCompose');
  if (command === undefined) {
    throw new Error(
      'no Docker Compose could be provisioned, so docker-compose.yml was not checked: install the docker compose ' +
        'plugin or Go, or set DOCKER_COMPOSE_PATH (see the test setup output)',
    );
  }
  const result = spawnSync(
    command,
    [...leading, '--file', 'docker-compose.yml', ...args, 'config', '--format', 'json'],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      // What an operator sets for a demo (the file's own defaults cover the rest).
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SANDBOX_ENABLED: 'true',
        METRICS_TOKEN: 'm'.repeat(24),
        PLATFORM_KEYS: `shop:${'s'.repeat(40)}`,
      },
      timeout: 30_000,
    },
  );
  const services =
    result.status === 0 ? (JSON.parse(result.stdout) as { services: Record<string, ResolvedService> }).services : {};
  return { status: result.status, stderr: result.stderr, services };
}

describe('docker compose config', () => {
  it('accepts docker-compose.yml, with Prometheus and Grafana reading src/observability and every port on 127.0.0.1', () => {
    const base = composeConfig();
    expect(base.status, base.stderr).toBe(0);
    expect(Object.keys(base.services).sort()).toEqual([
      'api',
      'grafana',
      'mongodb',
      'postgresql',
      'prometheus',
      'temporal',
      'temporal-ui',
      'worker',
    ]);
    for (const [name, service] of Object.entries(base.services)) {
      for (const port of service.ports ?? []) expect(port.host_ip, name).toBe('127.0.0.1');
      for (const volume of (service.volumes ?? []).filter((v) => v.type === 'bind')) {
        expect(volume.source, name).toMatch(new RegExp(`^${PROJECT_ROOT}/src/observability/`));
        expect(volume.read_only, volume.source).toBe(true);
      }
    }

    const sandbox = composeConfig('--profile', 'sandbox');
    expect(sandbox.status, sandbox.stderr).toBe(0);
    expect(Object.keys(sandbox.services)).toContain('sandbox');
  });
});
