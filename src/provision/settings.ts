import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseEnv } from '../config.js';
import { PROJECT_ROOT } from '../worker/workflow-bundle.js';

/**
 * What `npm start` and `npm test` provision, read from the environment. Separate from the
 * services' own config: these variables choose and place the servers, the services only
 * connect to them.
 */
const port = z.coerce.number().int().min(1).max(65535);
const settingsSchema = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
    .optional(),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_PORT: port.optional(),
  TEMPORAL_UI_PORT: port.optional(),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'expected a mongodb:// URI')
    .optional(),
  MONGODB_PORT: port.optional(),
  /** FerretDB's storage when it is the MongoDB-wire server: PostgreSQL when installed, else SQLite. */
  FERRETDB_BACKEND: z.enum(['postgresql', 'sqlite']).optional(),
  PAYMENTS_DATA_DIR: z.string().min(1).default('.data'),
  PAYMENTS_CACHE_DIR: z.string().min(1).default('.cache'),
  KEYS_DIR: z.string().min(1).optional(),
  STARTUP_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3_600).default(120),
});

export type Profile = 'dev' | 'test';

export interface ProvisionSettings {
  profile: Profile;
  /** Set when the user points at an existing Temporal; nothing is started then. */
  temporalAddress: string | undefined;
  temporalCliPath: string | undefined;
  namespace: string;
  temporalPort: number;
  temporalUiPort: number;
  /** Set when the user points at an existing MongoDB; nothing is started then. */
  mongodbUri: string | undefined;
  mongodbPort: number;
  /** Unset: PostgreSQL when it is installed, else SQLite. */
  ferretdbBackend: 'postgresql' | 'sqlite' | undefined;
  /** Keeps data between runs (dev) or starts clean every run (test). */
  persistent: boolean;
  /** This profile's data (server files, logs, the default keys folder): private to its owner. */
  dataDir: string;
  /** `KEYS_DIR` when it is set (else the keys live under `dataDir`): kept private too. */
  keysDir: string | undefined;
  cacheDir: string;
  startupTimeoutMs: number;
  /** Where a started dev server's Web UI sends payloads to decode (the API's codec server). */
  uiCodecEndpoint?: string;
  /** The caller kills and restarts the servers (the chaos run): only a server run as our own child will do. */
  killable?: boolean;
}

/** Dev listens on the well-known ports; tests on their own, so both can run side by side. */
const DEFAULT_PORTS: Record<Profile, { temporal: number; ui: number; mongodb: number }> = {
  dev: { temporal: 7233, ui: 8233, mongodb: 27017 },
  test: { temporal: 17233, ui: 18233, mongodb: 27217 },
};

export function loadProvisionSettings(profile: Profile, env: NodeJS.ProcessEnv = process.env): ProvisionSettings {
  const raw = parseEnv(settingsSchema, env);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(PROJECT_ROOT, p));
  const ports = DEFAULT_PORTS[profile];
  return {
    profile,
    temporalAddress: raw.TEMPORAL_ADDRESS,
    temporalCliPath: raw.TEMPORAL_CLI_PATH,
    namespace: raw.TEMPORAL_NAMESPACE,
    temporalPort: raw.TEMPORAL_PORT ?? ports.temporal,
    temporalUiPort: raw.TEMPORAL_UI_PORT ?? ports.ui,
    mongodbUri: raw.MONGODB_URI,
    mongodbPort: raw.MONGODB_PORT ?? ports.mongodb,
    ferretdbBackend: raw.FERRETDB_BACKEND,
    persistent: profile === 'dev',
    dataDir: join(abs(raw.PAYMENTS_DATA_DIR), profile),
    // The services resolve KEYS_DIR against their working folder, which is ours.
    keysDir: raw.KEYS_DIR === undefined ? undefined : resolve(raw.KEYS_DIR),
    cacheDir: abs(raw.PAYMENTS_CACHE_DIR),
    startupTimeoutMs: raw.STARTUP_TIMEOUT_SECONDS * 1000,
  };
}
