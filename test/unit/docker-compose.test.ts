import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
}

const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** Resolves `${NAME:-default}` the way compose does: NAME's value in `given`, else the default. */
function withDefaults(env: Record<string, string>, given: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      String(v).replace(
        /\$\{([A-Z_]+):-([^}]*)\}/g,
        (_match, name: string, fallback: string) => given[name] ?? fallback,
      ),
    ]),
  );
}

/** What an operator sets for real channels before `docker compose up`. */
const REAL_CHANNELS = {
  ALIPAY_GATEWAY_URL: 'https://openapi.alipay.com/gateway.do',
  WECHATPAY_BASE_URL: 'https://api.mch.weixin.qq.com',
  PLATFORM_WEBHOOK_URL: 'https://platform.example/webhooks',
  PLATFORM_KEYS: `shop:${'s'.repeat(40)}`,
};

describe('docker-compose.yml', () => {
  it('runs Temporal with its database and UI, MongoDB, the worker and the API; the sandbox only in its profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'grafana',
      'mongodb',
      'postgresql',
      'prometheus',
      'sandbox',
      'temporal',
      'temporal-ui',
      'worker',
    ]);
    const sandbox = compose.services.sandbox as ComposeService & { profiles?: string[] };
    expect(sandbox.profiles).toEqual(['sandbox']);
    expect(sandbox.command).toEqual(['node', 'dist/src/sandbox/main.js']);
    // The API and the worker reach it where it listens, and it keeps its books apart.
    const env = withDefaults(sandbox.environment ?? {}, { SANDBOX_ENABLED: 'true' });
    expect(env.SANDBOX_URL).toBe(`http://sandbox:${env.SANDBOX_PORT}`);
    expect(env.SANDBOX_MONGODB_URI).not.toBe(env.MONGODB_URI);
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
    const workerEnv = withDefaults(worker?.environment ?? {}, REAL_CHANNELS);
    const apiEnv = withDefaults(api?.environment ?? {}, REAL_CHANNELS);
    for (const env of [workerEnv, apiEnv]) {
      const config = loadConfig(env);
      expect(config.SANDBOX_ENABLED).toBe(false);
      expect(config.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(config.MONGODB_URI).toMatch(/^mongodb:\/\/mongodb:27017\//);
      expect(config.NODE_ENV).toBe('production');
    }
    const { API_HOST: _host, API_PORT: _port, ...apiShared } = apiEnv;
    const { WORKER_METRICS_HOST: _metricsHost, WORKER_METRICS_PORT: _metricsPort, ...workerShared } = workerEnv;
    expect(apiShared).toEqual(workerShared);
    expect(apiEnv.API_HOST).toBe('0.0.0.0');
  });

  it('refuses to start with nothing set, naming what to set, rather than fall back to the sandbox', () => {
    for (const name of ['worker', 'api']) {
      const env = withDefaults(compose.services[name]?.environment ?? {});
      expect(() => loadConfig(env), name).toThrow(ConfigError);
      for (const variable of ['ALIPAY_GATEWAY_URL', 'WECHATPAY_BASE_URL', 'PLATFORM_WEBHOOK_URL', 'PLATFORM_KEYS']) {
        expect(() => loadConfig(env), name).toThrow(new RegExp(`\\b${variable}\\b`));
      }
      // Turning the sandbox on is not enough in production: the override is asked for by name.
      const demo = withDefaults(compose.services[name]?.environment ?? {}, { SANDBOX_ENABLED: 'true' });
      expect(() => loadConfig(demo), name).toThrow(/SANDBOX_IN_PRODUCTION=i-understand-anyone-can-pay-any-payment/);
    }
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

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('has Prometheus scrape the API with METRICS_TOKEN and every worker where its metrics listen', () => {
    const prometheusConfig = parse(readFileSync(join(PROJECT_ROOT, 'src/observability/prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        job_name: string;
        authorization?: { type: string; credentials_file: string };
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; type: string; port: number }[];
      }[];
    };
    const job = (name: string) => prometheusConfig.scrape_configs.find((c) => c.job_name === name);
    const { prometheus, api, worker } = compose.services;
    const apiConfig = loadConfig(
      withDefaults(api?.environment ?? {}, { ...REAL_CHANNELS, METRICS_TOKEN: 'm'.repeat(24) }),
    );
    expect(apiConfig.METRICS_TOKEN).toBe('m'.repeat(24));
    expect(job('api')?.static_configs?.[0]?.targets).toEqual([`api:${apiConfig.API_PORT}`]);
    // The token file the scrape reads is the one the prometheus service writes from the same variable.
    expect(job('api')?.authorization?.type).toBe('Bearer');
    expect(prometheus?.command?.join(' ')).toContain(
      `"$$METRICS_TOKEN" > ${job('api')?.authorization?.credentials_file}`,
    );
    expect(prometheus?.environment?.METRICS_TOKEN).toBe(api?.environment?.METRICS_TOKEN);

    const workerConfig = loadConfig(withDefaults(worker?.environment ?? {}, REAL_CHANNELS));
    expect(workerConfig.WORKER_METRICS_HOST).toBe('0.0.0.0');
    expect(job('worker')?.dns_sd_configs).toEqual([
      expect.objectContaining({ names: ['worker'], type: 'A', port: workerConfig.WORKER_METRICS_PORT }),
    ]);
  });

  it('has Grafana load the Prometheus datasource and the dashboard from src/observability, read-only', () => {
    const { grafana, prometheus } = compose.services;
    const mounts = [...(grafana?.volumes ?? []), ...(prometheus?.volumes ?? [])]
      .filter((volume) => volume.startsWith('./'))
      .map((volume) => volume.split(':'));
    expect(mounts.length).toBe(3);
    for (const [source, , mode] of mounts) {
      expect(existsSync(join(PROJECT_ROOT, source!)), source).toBe(true);
      expect(source).toMatch(/^\.\/src\/observability\//);
      expect(mode, source).toBe('ro');
    }
    const targetOf = (source: string) => mounts.find(([from]) => from === source)?.[1];
    const provider = parse(
      readFileSync(join(PROJECT_ROOT, 'src/observability/grafana/provisioning/dashboards/knowledge-pay.yml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    const dashboards = targetOf('./src/observability/grafana/dashboards');
    expect(provider.providers[0]?.options.path).toBe(dashboards);
    expect(targetOf('./src/observability/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    expect(grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${dashboards}/knowledge-pay.json`);
  });
});
