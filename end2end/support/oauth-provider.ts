// Starts the test OAuth provider (oauth-provider/server.mjs, npm oidc-provider) on a free loopback port.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export interface RunningProvider {
  issuer: string;
  stop(): Promise<void>;
}

export async function startOAuthProvider(redirectUris: string[]): Promise<RunningProvider> {
  const child = spawn(process.execPath, [join(__dirname, '..', 'oauth-provider', 'server.mjs')], {
    env: { ...process.env, OAUTH_REDIRECT_URIS: redirectUris.join(','), OAUTH_PKCE_REQUIRED: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const issuer = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => {
      const match = line.match(/^OAUTH_PROVIDER_READY (\S+)$/);
      if (match) resolve(match[1]);
      else reject(new Error(`unexpected provider output: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`the OAuth provider exited with ${code}`)));
  });
  // Keep reading: a closed pipe would stop the provider.
  lines.on('line', () => {});
  return {
    issuer,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
