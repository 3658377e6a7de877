import type { TestProject } from 'vitest/node';
import { provisionServers } from '../../src/provision/index.js';
import { loadProvisionSettings } from '../../src/provision/settings.js';
import { provisionTimeSkippingServer } from '../../src/provision/temporal.js';
import { provisionChromium } from '../../src/provision/browser.js';
import { provisionDockerCompose } from '../../src/provision/compose.js';
import { cachedWorkflowBundle } from '../../src/worker/workflow-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** MongoDB server URI; tests add their own database name (see {@link withDatabase}). */
    mongoUri: string;
    workflowBundlePath: string;
    /** The time-skipping test server binary, or '' to let the SDK download one. */
    timeSkippingServerPath: string;
    /** Headless Chromium for the browser tests, or '' when none could be provisioned. */
    chromiumPath: string;
    /** The PostgreSQL cluster folder FerretDB stores in, or '' when it stores elsewhere. */
    postgresDataDir: string;
    /** Docker Compose as a command and its leading arguments, or [] when none could be provisioned. */
    dockerCompose: string[];
  }
}

/**
 * Provisions the test servers the same way `npm start` does (test profile: own ports, fresh
 * data) and builds the workflow bundle once for the whole run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const settings = loadProvisionSettings('test');
  const servers = await provisionServers(settings);
  try {
    const [bundle, timeSkipping, chromium, compose] = await Promise.all([
      cachedWorkflowBundle(settings.cacheDir),
      provisionTimeSkippingServer(settings),
      provisionChromium(settings.cacheDir),
      provisionDockerCompose(settings.cacheDir),
    ]);
    project.provide('chromiumPath', chromium ?? '');
    project.provide('dockerCompose', compose ? [compose.command, ...compose.args] : []);
    project.provide('timeSkippingServerPath', timeSkipping ?? '');
    project.provide('temporalAddress', servers.temporal.address);
    project.provide('mongoUri', servers.mongo.uri);
    project.provide('postgresDataDir', servers.mongo.postgresDataDir ?? '');
    project.provide('workflowBundlePath', bundle.path);
  } catch (err) {
    await servers.stop();
    throw err;
  }
  return () => servers.stop();
}
