// An OAuth 1.0a element authenticated from the console against a real OAuth 1.0a provider on loopback (PyPI
// oauthlib): the form asks for the consumer key and secret, the browser goes to the provider and back to
// /oauth/callback, and the instance's calls are signed; a declined authorization creates nothing.
import { test, expect } from '@playwright/test';
import { api, baseUrl, signIn, waitForHydration } from '../support/console';
import { OAUTH1_CONSUMER_KEY, OAUTH1_CONSUMER_SECRET, startOAuth1Provider } from '../support/oauth1-provider';
import { ReadyProcess } from '../support/ready-process';

const ELEMENT = 'e2e-oauth1';
let provider: ReadyProcess;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  provider = await startOAuth1Provider();
  const created = await api('POST', '/elements', {
    key: ELEMENT,
    name: 'E2E signed API',
    hub: 'general',
    auth: 'oauth1',
    oauth: {
      requestTokenUrl: `${provider.url}/oauth/request_token`,
      authorizationUrl: `${provider.url}/oauth/authorize`,
      tokenUrl: `${provider.url}/oauth/access_token`,
    },
    api: { baseUrl: `${provider.url}/api`, credentials: { in: 'oauth1' } },
  });
  expect(created.status, await created.text()).toBe(200);
});

test.afterAll(async () => {
  await provider?.stop();
});

async function instances(): Promise<Array<{ id: number; token: string; configuration: Record<string, string> }>> {
  const response = await api('GET', `/instances?element=${ELEMENT}`);
  expect(response.status).toBe(200);
  return response.json();
}

test('an OAuth 1.0a element is authenticated from the console, and its calls are signed', async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/catalog/${ELEMENT}`);
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: 'OAuth 1.0a' })).toBeVisible();
  await page.getByRole('button', { name: 'Authenticate' }).click();
  await page.getByLabel('Name').fill('Signed from the console');
  await page.getByLabel('Consumer key').fill(OAUTH1_CONSUMER_KEY);
  await page.getByLabel('Consumer secret').fill(OAUTH1_CONSUMER_SECRET);
  await page.getByRole('button', { name: 'Continue to the provider' }).click();
  // The provider approves at once and sends the browser back with the token and verifier.
  await expect(page).toHaveURL(/\/instances\?instance=\d+$/);
  const [made] = await instances();
  expect(made.configuration['oauth.user.token.secret']).toBe('********');

  const call = await fetch(`${baseUrl()}/elements/api-v2/hubs/general/me?from=console`, {
    headers: {
      Authorization: `User ${process.env.TETHER_USER_SECRET}, Organization ${process.env.TETHER_ORGANIZATION_SECRET}, Element ${made.token}`,
    },
  });
  expect(call.status, await call.clone().text()).toBe(200);
  expect((await call.json()).query).toEqual({ from: 'console' });
});

test('a declined OAuth 1.0a authorization shows why and creates nothing', async ({ page }) => {
  const before = (await instances()).length;
  await signIn(page);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/catalog/${ELEMENT}`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Authenticate' }).click();
  await page.getByLabel('Name').fill('Declined');
  await page.getByLabel('Consumer key').fill(OAUTH1_CONSUMER_KEY);
  await page.getByLabel('Consumer secret').fill(OAUTH1_CONSUMER_SECRET);
  // The test provider declines when the authorization URL asks it to, as a user pressing "Deny" would.
  await page.route(
    (url) => url.origin === provider.url && url.pathname === '/oauth/authorize',
    (route) => route.continue({ url: `${route.request().url()}&deny=1` }),
  );
  await page.getByRole('button', { name: 'Continue to the provider' }).click();
  await expect(page.getByTestId('oauth-error')).toContainText('Access was denied');
  expect(await instances()).toHaveLength(before);
});
