// Debian's Chromium for the browser tests, driven by playwright-core. Without /usr/bin/chromium the tests
// are skipped with a warning, unless ROUNDGUARD_REQUIRE_CHROMIUM=1 (set by CI): then they fail.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser tests run; throws when Chromium is required but missing. */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.ROUNDGUARD_REQUIRE_CHROMIUM === '1') {
    throw new Error(
      `${suite}: ${CHROMIUM} is required (ROUNDGUARD_REQUIRE_CHROMIUM=1) but missing: apt-get install chromium`,
    );
  }
  console.warn(`${suite} skipped: ${CHROMIUM} is missing (install Debian's chromium package)`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
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
