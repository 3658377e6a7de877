import { z } from 'zod';

/**
 * Process configuration, read once at boot from the environment.
 *
 * Every variable is documented in the README with its default. A bad value stops the process
 * with a message naming the variable (see {@link ConfigError}); secrets are never echoed back.
 */
const port = z.coerce.number().int().min(1).max(65535);
const positiveSeconds = z.coerce.number().int().min(1).max(86_400);

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  /** Largest JSON body the API accepts, in bytes. */
  API_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(65_536),
  /** Largest payment accepted, in minor units of any currency. */
  PAYMENT_MAX_AMOUNT: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(100_000_000),

  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, for example 127.0.0.1:7233')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('payments'),

  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'expected a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/knowledge_pay'),

  /** How long a stopping worker lets running activities finish before abandoning them. */
  WORKER_SHUTDOWN_GRACE_SECONDS: positiveSeconds.default(30),
  /** Prebuilt workflow bundle; when unset the worker bundles `workflows/` at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /** Timeout of every readiness probe and of connecting at boot. */
  DEPENDENCY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
});

export type Config = z.infer<typeof configSchema>;

/** A configuration value is missing or malformed; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Shared by every schema of environment variables in the project, so that all of them
 * report bad values the same way: variable name and what was expected, never the value.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  return result.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseEnv(configSchema, env);
}
