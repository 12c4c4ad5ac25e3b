import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Chromium as root in a closed network: no sandbox (root), and none of the background
 * services that would try to reach Google's hosts at every start.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Builds the dashboard from the current sources with Vite into a fresh folder, and answers it. */
export function buildDashboard(): string {
  const outDir = mkdtempSync(join(tmpdir(), 'recoup-dashboard-'));
  const vite = join(__dirname, '..', '..', 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', 'client-examples/dashboard/vite.config.mts'], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, DASHBOARD_OUT_DIR: outDir },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`vite build failed (${result.status}): ${result.stderr}${result.stdout}`);
  return outDir;
}
