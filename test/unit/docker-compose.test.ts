import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** Resolves `${NAME:-default}` the way compose does when NAME is unset. */
function withDefaults(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
  );
}

describe('docker-compose.yml', () => {
  it('runs Temporal with its database and UI, MongoDB, the worker and the API', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'mongodb',
      'postgresql',
      'temporal',
      'temporal-ui',
      'worker',
    ]);
  });

  it('pins every third-party image to a version', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue;
      expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
  });

  it('wires the worker and the API with the same, valid configuration', () => {
    const { worker, api } = compose.services;
    const workerEnv = withDefaults(worker?.environment ?? {});
    const apiEnv = withDefaults(api?.environment ?? {});
    for (const env of [workerEnv, apiEnv]) {
      const config = loadConfig(env);
      expect(config.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(config.MONGODB_URI).toMatch(/^mongodb:\/\/mongodb:27017\//);
      expect(config.NODE_ENV).toBe('production');
    }
    const { API_HOST: _host, API_PORT: _port, ...apiShared } = apiEnv;
    expect(apiShared).toEqual(workerEnv);
    expect(apiEnv.API_HOST).toBe('0.0.0.0');
  });

  it('starts the worker and the API only once Temporal and MongoDB are healthy', () => {
    for (const name of ['worker', 'api']) {
      const deps = compose.services[name]?.depends_on ?? {};
      expect(deps.temporal?.condition, name).toBe('service_healthy');
      expect(deps.mongodb?.condition, name).toBe('service_healthy');
    }
    expect(compose.services.worker?.command).toEqual(['node', 'dist/src/worker/main.js']);
    expect(compose.services.api?.command).toEqual(['node', 'dist/src/api/main.js']);
  });
});
