import { setTimeout as sleep } from 'node:timers/promises';
import { say } from '../../provision/processes.js';
import type { ChaosCluster } from './cluster.js';

/** One fault the run injected, and how it went. */
export interface FaultRecord {
  name: string;
  /** Seconds from the start of the load. */
  at: number;
  /** Seconds until the faulted part was back. */
  seconds: number;
  /** `injected`, or `failed: <why>` when the fault or its healing failed. */
  outcome: string;
}

export interface FaultStep {
  name: string;
  inject(): Promise<void>;
  /** Undoes the fault; resolves once the part is back. */
  heal(): Promise<void>;
}

async function sandboxControl(url: string, token: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/sandbox/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`sandbox ${path} answered ${res.status}: ${await res.text()}`);
}

/**
 * The faults of a chaos run, in order: each process and server killed with SIGKILL one at a time
 * (the worker, an API, the Temporal server, the MongoDB-wire server), a slow channel, a channel
 * outage, then everything killed together. `downMs` is how long a killed part stays down.
 */
export function faultSchedule(
  cluster: ChaosCluster,
  sandbox: { url: string; token: string },
  options: { downMs: number; workers: number; apis: number },
): FaultStep[] {
  const { downMs } = options;
  const down = () => sleep(downMs);
  const killOne = (target: 'worker' | 'api', index: number, name: string): FaultStep => ({
    name,
    inject: () => cluster.kill(target, index),
    heal: async () => {
      await down();
      await cluster.restart(target, index);
    },
  });
  const server = (target: 'temporal' | 'mongodb', name: string): FaultStep => ({
    name,
    inject: () => cluster.kill(target),
    heal: async () => {
      await down();
      await cluster.restart(target);
      await cluster.ready();
    },
  });
  return [
    killOne('worker', 0, `SIGKILL worker-1${options.workers > 1 ? ' (worker-2 runs on)' : ''}`),
    killOne('api', 0, `SIGKILL api-1${options.apis > 1 ? ' (api-2 serves)' : ''}`),
    {
      name: 'alipay slow: create and query held for the down time',
      inject: () =>
        sandboxControl(sandbox.url, sandbox.token, '/channels/alipay/hold', {
          operations: ['create', 'query'],
          enabled: true,
        }),
      heal: async () => {
        await down();
        await sandboxControl(sandbox.url, sandbox.token, '/channels/alipay/hold', {
          operations: ['create', 'query'],
          enabled: false,
        });
      },
    },
    {
      name: 'wechatpay outage: create, query and close answer 503',
      inject: () =>
        sandboxControl(sandbox.url, sandbox.token, '/channels/wechatpay/outage', {
          operations: ['create', 'query', 'close'],
          enabled: true,
        }),
      heal: async () => {
        await down();
        await sandboxControl(sandbox.url, sandbox.token, '/channels/wechatpay/outage', {
          operations: ['create', 'query', 'close'],
          enabled: false,
        });
      },
    },
    server('temporal', 'SIGKILL the Temporal server (restarted on its SQLite file)'),
    server('mongodb', 'SIGKILL the MongoDB-wire server and its storage (restarted on their data)'),
    {
      name: 'SIGKILL everything together: every worker, every API, Temporal, MongoDB',
      inject: async () => {
        await Promise.all([
          cluster.kill('worker'),
          cluster.kill('api'),
          cluster.kill('temporal'),
          cluster.kill('mongodb'),
        ]);
      },
      heal: async () => {
        await down();
        await cluster.restart('mongodb');
        await cluster.restart('temporal');
        await cluster.restart('worker');
        await cluster.restart('api');
        await cluster.ready();
      },
    },
  ];
}

/** Runs the schedule, each step `gapMs` after the previous one healed; records each fault. */
export async function injectFaults(
  steps: FaultStep[],
  options: { gapMs: number; startedAt: number },
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  for (const step of steps) {
    await sleep(options.gapMs);
    const at = (Date.now() - options.startedAt) / 1000;
    say(`chaos: ${step.name}`);
    try {
      await step.inject();
      await step.heal();
      records.push({ name: step.name, at, seconds: (Date.now() - options.startedAt) / 1000 - at, outcome: 'injected' });
    } catch (err) {
      records.push({
        name: step.name,
        at,
        seconds: (Date.now() - options.startedAt) / 1000 - at,
        outcome: `failed: ${(err as Error).message}`,
      });
    }
  }
  return records;
}
