// Starts the test OAuth provider (oauth-provider/server.mjs, npm oidc-provider) on a free loopback port.
import { join } from 'node:path';
import { startReadyProcess } from './ready-process';

export interface RunningProvider {
  issuer: string;
  stop(): Promise<void>;
}

export async function startOAuthProvider(redirectUris: string[]): Promise<RunningProvider> {
  const script = join(__dirname, '..', 'oauth-provider', 'server.mjs');
  const server = await startReadyProcess(process.execPath, [script], 'OAUTH_PROVIDER_READY', {
    OAUTH_REDIRECT_URIS: redirectUris.join(','),
    OAUTH_PKCE_REQUIRED: 'true',
  });
  return { issuer: server.url, stop: () => server.stop() };
}
