// Starts a real `tether` binary on a free loopback port with a fresh data directory, and reads its first-start output.
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FirstStart {
  baseUrl: string;
  email: string;
  password: string;
  organizationSecret: string;
  userSecret: string;
}

export interface RunningTether extends FirstStart {
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export function field(output: string, label: string): string {
  const match = output.match(new RegExp(`${label}:\\s+(\\S+)`));
  if (!match) throw new Error(`tether's first-start output has no "${label}" line:\n${output}`);
  return match[1];
}

/** Starts a tether; `overrides` are added to (or replace) its environment. */
export async function startTether(overrides: NodeJS.ProcessEnv = {}): Promise<RunningTether> {
  const binary = process.env.TETHER_BIN;
  const siteRoot = process.env.TETHER_SITE_ROOT;
  if (!binary || !siteRoot) {
    throw new Error('set TETHER_BIN and TETHER_SITE_ROOT (make test does) to the release build of tether');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TETHER_LISTEN: `127.0.0.1:${port}`,
    TETHER_DATA_DIR: dataDir,
    TETHER_SITE_ROOT: siteRoot,
    // The tests' OAuth provider runs on loopback, which elements may name only with this setting.
    TETHER_ALLOW_PRIVATE_NETWORK: 'true',
    // The events tests poll every few seconds rather than every minute.
    TETHER_POLL_MIN_INTERVAL_SECONDS: '3',
    ...overrides,
  };
  delete env.DATABASE_URL;
  const child: ChildProcess = spawn(binary, ['serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stderr?.on('data', (chunk) => (errors += chunk));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Tether is listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tether exited with ${code} before listening:\n${output}\n${errors}`)));
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`tether did not start within 30 s:\n${output}\n${errors}`)), 30_000).unref(),
  );
  await Promise.race([ready, timeout]);

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    email: field(output, 'email'),
    password: field(output, 'password'),
    organizationSecret: field(output, 'organization secret'),
    userSecret: field(output, 'user secret'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
