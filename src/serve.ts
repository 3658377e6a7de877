import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from './logger.js';
import { watchParent } from './parent-watch.js';

/**
 * Serves `app` on `host:port` until SIGINT, SIGTERM or the parent's exit: then stops taking
 * connections, runs `close` and exits (at most 10 s later). A client that trickles its headers or
 * body is cut off instead of holding a connection. Resolves once listening, with the URL.
 */
export async function serveUntilStopped(options: {
  app: Express;
  host: string;
  port: number;
  logger: Logger;
  /** Named in the log lines: `API`, `sandbox`. */
  name: string;
  close: () => Promise<void>;
}): Promise<string> {
  const { app, host, port, logger, name, close } = options;
  const server: Server = app.listen(port, host);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    server.close(() => {
      void close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  watchParent(() => stop('parent process gone'));
  return `http://${host}:${port}`;
}
