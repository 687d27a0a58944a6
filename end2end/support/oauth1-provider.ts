// Starts the test OAuth 1.0a provider (oauth1-provider/server.py, PyPI oauthlib) on a free loopback port.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export const OAUTH1_CONSUMER_KEY = 'tetherOAuth1Consumer01';
export const OAUTH1_CONSUMER_SECRET = 'tetherOAuth1ConsumerSecret01';

export interface RunningOAuth1Provider {
  url: string;
  stop(): Promise<void>;
}

export async function startOAuth1Provider(): Promise<RunningOAuth1Provider> {
  const child = spawn('python3', [join(__dirname, '..', 'oauth1-provider', 'server.py')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => {
      const match = line.match(/^OAUTH1_PROVIDER_READY (\S+)$/);
      if (match) resolve(match[1]);
      else reject(new Error(`unexpected provider output: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`the OAuth 1.0a provider exited with ${code}`)));
  });
  lines.on('line', () => {});
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
