/**
 * `npm start`: the whole system on one machine for development and demos. Provisions Temporal
 * and MongoDB (see src/provision), builds the workflow bundle once, starts the sandbox process
 * (simulated channels and platform stub, with their own database) when the sandbox is on, one
 * worker and one API process, waits until they are ready and prints where every part listens.
 * Ctrl-C stops the API, the worker, the sandbox, then the servers this run started.
 */
import { join } from 'node:path';
import { startService, waitForApi, waitForSandbox } from './services.js';
import { devPlatformKeyPath, loadOrCreateDevPlatformKey } from '../crypto/platform-keys.js';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase } from '../db/connect.js';
import { provisionServers } from '../provision/index.js';
import { say, withProgress, type ManagedProcess } from '../provision/processes.js';
import { loadProvisionSettings } from '../provision/settings.js';
import { devAdminBannerRow, ensureDevAdmin } from '../staff/dev-admin.js';
import { keyringPath } from '../crypto/keyring.js';
import { cachedWorkflowBundle } from '../worker/workflow-bundle.js';
import { loadOrCreateSandboxControlToken, sandboxControlTokenPath } from '../sandbox/control-token.js';

/** Development only: the `dev-admin` staff token (created when there is no staff), for the banner. */
async function devStaffToken(mongodbUri: string, keysDir: string, apiUrl: string, timeoutMs: number): Promise<string> {
  try {
    const database = await connectDatabase(mongodbUri, { timeoutMs });
    try {
      return devAdminBannerRow(await ensureDevAdmin(database.models, keysDir), apiUrl);
    } finally {
      await database.close();
    }
  } catch (err) {
    // The system runs without it; the row says why and how to get a token by hand.
    return `not issued (${(err as Error).message}); \`npm run staff -- add <name> --role admin\` issues one`;
  }
}

/** The `Sandbox token` row of the banner: where the control API's bearer token is. */
function sandboxTokenRow(configured: string | undefined, keysDir: string): string {
  if (configured) return 'SANDBOX_CONTROL_TOKEN  (send it as `Authorization: Bearer <token>` to /sandbox/v1)';
  loadOrCreateSandboxControlToken(keysDir);
  const path = sandboxControlTokenPath(keysDir);
  return `${path}  (development token; send it to /sandbox/v1 as \`-H "Authorization: Bearer $(cat ${path})"\`)`;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const settings = loadProvisionSettings('dev');
  const config = loadConfig();
  // The Web UI decrypts history through the API's codec server. Its endpoint URL carries nothing
  // secret: the UI cannot send the codec token, so a browser starts a session at `/codec/session`.
  const codecEndpoint = `${config.PUBLIC_BASE_URL}/codec`;
  const servers = await provisionServers({ ...settings, uiCodecEndpoint: codecEndpoint });
  const children: ManagedProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping: API, worker, sandbox, then the servers this run started');
    for (const child of [...children].reverse()) await child.stop();
    await servers.stop();
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    // A traced worker needs the tracing interceptors in its bundle (src/worker/workflow-bundle.ts).
    const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
    const bundle = await withProgress('workflow bundle', () => cachedWorkflowBundle(settings.cacheDir, { tracing }));
    say(`workflow bundle ${bundle.built ? 'built' : 'reused'}: ${bundle.path}`);
    const mongodbUri = settings.mongodbUri ?? `${servers.mongo.uri}/knowledge_pay`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: servers.temporal.address,
      MONGODB_URI: mongodbUri,
      WORKFLOW_BUNDLE_PATH: bundle.path,
      KEYS_DIR: process.env.KEYS_DIR ?? join(settings.dataDir, 'keys'),
      // The codec server admits the Web UI this run serves, on whatever port it listens.
      ...(process.env.CODEC_CORS_ORIGINS || !servers.temporal.uiUrl
        ? {}
        : {
            CODEC_CORS_ORIGINS: `${servers.temporal.uiUrl},${servers.temporal.uiUrl.replace('127.0.0.1', 'localhost')}`,
          }),
    };
    if (config.SANDBOX_ENABLED) children.push(startService('sandbox', 'src/sandbox/main.ts', env));
    children.push(startService('worker', 'src/worker/main.ts', env));
    children.push(startService('api', 'src/api/main.ts', env));
    const apiUrl = `http://${config.API_HOST}:${config.API_PORT}`;
    const died = Promise.race(children.map((c) => c.exited));
    if (config.SANDBOX_ENABLED) {
      await withProgress('sandbox readiness', () =>
        waitForSandbox(config.SANDBOX_URL, children, settings.startupTimeoutMs),
      );
    }
    await withProgress('API readiness', () => waitForApi(apiUrl, children, settings.startupTimeoutMs));
    const staffToken =
      config.NODE_ENV === 'production'
        ? undefined
        : await devStaffToken(mongodbUri, env.KEYS_DIR as string, apiUrl, config.DEPENDENCY_TIMEOUT_MS);
    const rows: [string, string][] = [
      ['API', `${apiUrl}  (POST /v1/payments, GET /healthz, GET /readyz)`],
      [
        'Dashboard',
        `${apiUrl}/dashboard  (staff, in a browser: sign in with a staff token; it fills as payments are made)`,
      ],
      [
        'Checkout',
        `${apiUrl}/checkout/<paymentId>?e=…&t=…  (learners, in a browser: each payment's payUrl; its receipt at ${apiUrl}/receipts/<voucherId>)`,
      ],
      ...(config.SANDBOX_ENABLED
        ? ([
            [
              'Sandbox',
              `${apiUrl}/sandbox/v1  (pay, outages, books, platform refusals, exchange rates; the channels' cashier pages)`,
            ],
            [
              'Sandbox process',
              `${config.SANDBOX_URL}  (simulated channels and platform stub; the API forwards /sandbox here; own database ${loadConfig(env).SANDBOX_MONGODB_URI.replace(/\/\/[^@/]*@/, '//***@')})`,
            ],
            ['Sandbox token', sandboxTokenRow(config.SANDBOX_CONTROL_TOKEN, env.KEYS_DIR as string)],
            ['Platform stub', `${config.PLATFORM_WEBHOOK_URL ?? ''}  (receives the signed webhooks)`],
          ] as [string, string][])
        : []),
      [
        'Metrics',
        `${apiUrl}/metrics (API)${config.WORKER_METRICS_PORT === 0 ? '' : `, http://${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}/metrics (worker, with the Temporal SDK's)`}  (Prometheus text; ${config.METRICS_TOKEN ? 'Bearer METRICS_TOKEN' : 'this machine only'})`,
      ],
      ['Temporal', `${servers.temporal.address}  [${servers.temporal.source}]`],
      ['Temporal Web UI', servers.temporal.uiUrl ?? '(not served by this Temporal)'],
      [
        'Codec server',
        `${codecEndpoint}  (token: codecServerToken in ${keyringPath(env.KEYS_DIR as string)}; the CLI sends it with ` +
          `\`--codec-auth "Bearer <token>"\`; for the Web UI, enter it once at ${codecEndpoint}/session)`,
      ],
      ['MongoDB', `${mongodbUri.replace(/\/\/[^@/]*@/, '//***@')}  [${servers.mongo.source}]`],
      [
        'Platform key',
        config.PLATFORM_KEYS
          ? `${config.PLATFORM_KEYS.map((k) => k.keyId).join(', ')} (PLATFORM_KEYS)`
          : `${loadOrCreateDevPlatformKey(env.KEYS_DIR as string).keyId}  (development key in ${devPlatformKeyPath(env.KEYS_DIR as string)}; \`npm run platform -- GET /v1/payments/<id>\` signs with it)`,
      ],
      ...(staffToken === undefined ? [] : ([['Staff token', staffToken]] as [string, string][])),
      ['Worker', `task queue "${config.TEMPORAL_TASK_QUEUE}" in namespace "${config.TEMPORAL_NAMESPACE}"`],
      ['Data', settings.dataDir],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nKnowledge Pay is up after ${((Date.now() - startedAt) / 1000).toFixed(1)} s:`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    console.log('Press Ctrl-C to stop.\n');
    await died;
  } catch (err) {
    if (stopping) return;
    console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  }
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : `[start] ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
