import { join } from 'node:path';
import { provisionMongo, type ProvisionedMongo } from '../../provision/mongo.js';
import { say, type ManagedProcess } from '../../provision/processes.js';
import type { ProvisionSettings } from '../../provision/settings.js';
import { provisionTemporal, type ProvisionedTemporal } from '../../provision/temporal.js';
import { startService, waitForApi, waitForSandbox } from '../services.js';

/**
 * A server killed with SIGKILL can take a moment to be startable again (PostgreSQL waits for the
 * dead server's backends to go): tries `start` up to five times, two seconds apart.
 */
async function retried<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 5) throw err;
      say(`chaos: restart failed (${(err as Error).message}); trying again`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

/** What a chaos run can kill: one of the payment system's processes or servers. */
export type Target = 'worker' | 'api' | 'temporal' | 'mongodb';

export interface ClusterOptions {
  settings: ProvisionSettings;
  apis: number;
  workers: number;
  /** First API port; API i listens on `apiPort + i`. */
  apiPort: number;
  sandboxPort: number;
  /** The sandbox's own MongoDB-wire server: never killed, so its books outlive every fault. */
  sandboxMongodbPort: number;
  /** Environment every service starts with (keys folder, task queue, bundle, time scale...). */
  env: NodeJS.ProcessEnv;
  logDir: string;
}

interface Supervised {
  name: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  current: ManagedProcess;
  /** Set while this run killed it on purpose and has not started it again. */
  down: boolean;
  /** Times it exited without being killed here, and was started again (a supervisor's restarts). */
  crashes: number;
}

/**
 * The payment system as a chaos run sees it: its own Temporal server (on a SQLite file, so a
 * restart keeps every workflow) and MongoDB-wire server, N API and M worker processes, and the
 * sandbox process (simulated channels and platform stub) with a MongoDB-wire server of its own,
 * which no fault touches: its books are the witness. Services that exit on their own are started
 * again after a second, as a process supervisor would.
 */
export class ChaosCluster {
  readonly apiUrls: string[];
  readonly sandboxUrl: string;
  private temporal!: ProvisionedTemporal;
  private mongo!: ProvisionedMongo;
  private sandboxMongo!: ProvisionedMongo;
  private readonly services: Supervised[] = [];
  private stopping = false;

  private constructor(private readonly options: ClusterOptions) {
    this.apiUrls = Array.from({ length: options.apis }, (_, i) => `http://127.0.0.1:${options.apiPort + i}`);
    this.sandboxUrl = `http://127.0.0.1:${options.sandboxPort}`;
  }

  static async start(options: ClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(options);
    await cluster.boot();
    return cluster;
  }

  get temporalAddress(): string {
    return this.temporal.address;
  }

  get mongoUri(): string {
    return this.mongo.uri;
  }

  get sandboxMongoUri(): string {
    return this.sandboxMongo.uri;
  }

  /** Process names and pids, for the run's header. */
  describe(): string[] {
    return [
      `temporal server pid ${this.temporal.process?.child.pid ?? '?'} (${this.temporal.source})`,
      `mongodb-wire server pids ${(this.mongo.processes ?? []).map((p) => p.child.pid).join(', ')} (${this.mongo.source})`,
      `sandbox's own mongodb-wire server pid ${this.sandboxMongo.process?.child.pid ?? '?'}`,
      ...this.services.map((s) => `${s.name} pid ${s.current.child.pid ?? '?'}`),
    ];
  }

  /** Restarts made by the supervisor (exits this run did not cause), per service. */
  crashes(): Record<string, number> {
    return Object.fromEntries(this.services.map((s) => [s.name, s.crashes]));
  }

  private async boot(): Promise<void> {
    const { settings } = this.options;
    const sandboxSettings: ProvisionSettings = {
      ...settings,
      mongodbPort: this.options.sandboxMongodbPort,
      dataDir: join(settings.dataDir, 'sandbox'),
    };
    [this.temporal, this.mongo, this.sandboxMongo] = await Promise.all([
      provisionTemporal(settings),
      provisionMongo(settings),
      provisionMongo(sandboxSettings),
    ]);
    for (const server of [this.temporal, this.mongo]) {
      if (!server.process) {
        throw new Error(
          `the chaos run kills its servers, so it must start them itself, but it was given one it did not start (${server.source}): ` +
            'unset TEMPORAL_ADDRESS and MONGODB_URI, or stop whatever listens on the chaos ports (TEMPORAL_PORT, MONGODB_PORT).',
        );
      }
    }
    const { env } = this.options;
    const common = {
      ...env,
      TEMPORAL_ADDRESS: this.temporal.address,
      MONGODB_URI: `${this.mongo.uri}/kp_chaos`,
      SANDBOX_URL: this.sandboxUrl,
      SANDBOX_PORT: String(this.options.sandboxPort),
      SANDBOX_MONGODB_URI: `${this.sandboxMongo.uri}/kp_chaos_sandbox`,
      PUBLIC_BASE_URL: this.apiUrls[0],
    };
    this.supervise('sandbox', 'src/sandbox/main.ts', common);
    for (let i = 0; i < this.options.workers; i += 1) this.supervise(`worker-${i + 1}`, 'src/worker/main.ts', common);
    this.apiUrls.forEach((_, i) =>
      this.supervise(`api-${i + 1}`, 'src/api/main.ts', { ...common, API_PORT: String(this.options.apiPort + i) }),
    );
    // At boot, a service that dies is a broken setup: stop waiting at once.
    const children = this.services.map((s) => s.current);
    const timeoutMs = this.options.settings.startupTimeoutMs;
    await waitForSandbox(this.sandboxUrl, children, timeoutMs);
    await Promise.all(this.apiUrls.map((url) => waitForApi(url, children, timeoutMs)));
  }

  private supervise(name: string, entry: string, env: NodeJS.ProcessEnv): void {
    const service: Supervised = { name, entry, env, current: this.launch(name, entry, env), down: false, crashes: 0 };
    this.services.push(service);
    this.watch(service);
  }

  private launch(name: string, entry: string, env: NodeJS.ProcessEnv): ManagedProcess {
    return startService(name, entry, env, join(this.options.logDir, `${name}.log`));
  }

  private watch(service: Supervised): void {
    const started = service.current;
    void started.exited.catch(() => {
      if (this.stopping || service.down || service.current !== started) return;
      service.crashes += 1;
      say(`chaos: ${service.name} exited on its own; starting it again (see ${started.logFile})`);
      setTimeout(() => {
        if (this.stopping || service.down || service.current !== started) return;
        service.current = this.launch(service.name, service.entry, service.env);
        this.watch(service);
      }, 1_000);
    });
  }

  /** Waits until every API answers `/readyz` (after faults, while the supervisor restarts what died). */
  async ready(): Promise<void> {
    await Promise.all(this.apiUrls.map((url) => waitForApi(url, [], this.options.settings.startupTimeoutMs)));
  }

  private servicesOf(target: 'worker' | 'api', index?: number): Supervised[] {
    const all = this.services.filter((s) => s.name.startsWith(`${target}-`));
    return index === undefined ? all : all.filter((_, i) => i === index);
  }

  /** SIGKILL: no shutdown hook runs, in-flight work is abandoned mid-way. Resolves once it is gone. */
  async kill(target: Target, index?: number): Promise<void> {
    if (target === 'temporal' || target === 'mongodb') {
      const processes =
        target === 'temporal' ? [this.temporal.process] : (this.mongo.processes ?? [this.mongo.process]);
      await Promise.all(
        processes.map(async (server) => {
          const child = server?.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGKILL');
          await server.exited.catch(() => undefined);
        }),
      );
      return;
    }
    await Promise.all(
      this.servicesOf(target, index).map(async (service) => {
        service.down = true;
        service.current.child.kill('SIGKILL');
        await service.current.exited.catch(() => undefined);
      }),
    );
  }

  /** Starts a killed target again on the same ports and data. */
  async restart(target: Target, index?: number): Promise<void> {
    if (target === 'temporal') this.temporal = await provisionTemporal(this.options.settings);
    else if (target === 'mongodb') this.mongo = await retried(() => provisionMongo(this.options.settings));
    else {
      for (const service of this.servicesOf(target, index)) {
        if (!service.down) continue;
        service.current = this.launch(service.name, service.entry, service.env);
        service.down = false;
        this.watch(service);
      }
      if (target === 'api') {
        const urls = index === undefined ? this.apiUrls : [this.apiUrls[index] as string];
        await Promise.all(urls.map((url) => waitForApi(url, [], this.options.settings.startupTimeoutMs)));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const service of [...this.services].reverse()) await service.current.stop();
    await Promise.allSettled([this.temporal?.stop(), this.mongo?.stop(), this.sandboxMongo?.stop()]);
  }
}
