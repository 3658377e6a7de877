import { chromium, type Browser } from 'playwright-core';
import { inject } from 'vitest';

/** Headless Chromium from the test setup (no browser download), with the flags this machine needs. */
export function launchBrowser(): Promise<Browser> {
  const executablePath = inject('chromiumPath');
  if (!executablePath) throw new Error('no Chromium could be provisioned: set CHROMIUM_PATH (see the test output)');
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
