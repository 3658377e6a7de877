import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { onPath, runToCompletion, say, withProgress } from './processes.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * A headless Chromium for the browser tests of the pages people use (the cashier):
 * `CHROMIUM_PATH` if set, else one already installed, else Debian's `chromium` package installed
 * with apt (as root). Undefined, with a message saying what to do, when none can be had.
 */
export async function provisionChromium(cacheDir: string): Promise<string | undefined> {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    say(`Browser: CHROMIUM_PATH (${given})`);
    return given;
  }
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found) {
    say(`Browser: ${found}`);
    return found;
  }
  const isRoot = process.getuid?.() === 0;
  const hasApt = onPath('apt-get') !== undefined;
  if (!isRoot || !hasApt) {
    say('Browser: no Chromium found and apt-get is not usable here; set CHROMIUM_PATH to a Chromium or Chrome binary');
    return undefined;
  }
  const logFile = join(cacheDir, 'logs', 'apt-chromium.log');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    runToCompletion('apt-get install chromium', 'apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      logFile,
      env,
    });
  try {
    await withProgress(`Browser: installing Debian's chromium with apt-get (log ${logFile})`, async () => {
      try {
        await install();
      } catch {
        await runToCompletion('apt-get update', 'apt-get', ['update'], { logFile, env });
        await install();
      }
    });
  } catch (err) {
    say(`Browser: could not install chromium (${(err as Error).message}); set CHROMIUM_PATH`);
    return undefined;
  }
  return CANDIDATES.find((path) => existsSync(path));
}
