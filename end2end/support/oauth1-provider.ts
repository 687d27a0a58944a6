// Starts the test OAuth 1.0a provider (oauth1-provider/server.py, PyPI oauthlib) on a free loopback port.
import { join } from 'node:path';
import { ReadyProcess, startReadyProcess } from './ready-process';

export const OAUTH1_CONSUMER_KEY = 'tetherOAuth1Consumer01';
export const OAUTH1_CONSUMER_SECRET = 'tetherOAuth1ConsumerSecret01';

export async function startOAuth1Provider(): Promise<ReadyProcess> {
  return startReadyProcess('python3', [join(__dirname, '..', 'oauth1-provider', 'server.py')], 'OAUTH1_PROVIDER_READY');
}
