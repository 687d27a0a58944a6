// Authenticating and managing an instance through the console, against a real OAuth provider on loopback:
// the provider's own sign-in and consent pages, the /oauth/callback landing, token, tags, re-authentication,
// "Try it out" through the proxy, disable and enable, delete, and a denied consent that creates nothing.
import { test, expect, Page } from '@playwright/test';
import { api, baseUrl, signIn, waitForHydration } from '../support/console';
import { startOAuthProvider, RunningProvider } from '../support/oauth-provider';

const ELEMENT = 'e2e-idp';
let provider: RunningProvider;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  provider = await startOAuthProvider([`${baseUrl()}/oauth/callback`]);
  const element = {
    key: ELEMENT,
    name: 'E2E identity provider',
    hub: 'general',
    auth: 'oauth2',
    oauth: {
      authorizationUrl: `${provider.issuer}/auth`,
      tokenUrl: `${provider.issuer}/token`,
      revokeUrl: `${provider.issuer}/token/revocation`,
      issuer: provider.issuer,
      scopes: ['openid', 'offline_access'],
      authorizationParams: { prompt: 'consent' },
    },
    api: { baseUrl: provider.issuer, credentials: { in: 'bearer' } },
  };
  const created = await api('POST', '/elements', element);
  expect(created.status, await created.text()).toBe(200);
});

test.afterAll(async () => {
  await provider?.stop();
});

async function instancesAtTether(): Promise<Array<{ id: number; name: string; tags: string[] }>> {
  const response = await api('GET', `/instances?element=${ELEMENT}`);
  expect(response.status).toBe(200);
  return response.json();
}

/** Signs in at the provider (when it asks) and approves or denies the consent. */
async function atProvider(page: Page, approve: boolean) {
  await expect(page).toHaveURL(new RegExp(`^${provider.issuer}/interaction/`));
  const login = page.locator('input[name="login"]');
  const consent = page.getByRole('button', { name: 'Continue' });
  await expect(login.or(consent)).toBeVisible();
  if (await login.isVisible()) {
    await login.fill('alice');
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
  }
  await expect(consent).toBeVisible();
  if (approve) {
    await consent.click();
  } else {
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
  }
}

async function openAuthenticateForm(page: Page) {
  await page.goto(`${baseUrl()}/catalog/${ELEMENT}`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Authenticate' }).click();
  await expect(page.getByTestId('callback-url')).toHaveText(`${baseUrl()}/oauth/callback`);
  // The form opens where the button was: at its first field, not back at the top of the page.
  await expect(page.getByRole('textbox', { name: 'Name', exact: true })).toBeFocused();
}

test('authenticate, view the token, tag, re-authenticate, try it out, disable, enable and delete', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl() });
  await signIn(page);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await openAuthenticateForm(page);
  await page.getByLabel('Name').fill('E2E instance');
  const tagInput = page.getByLabel('Add a tag');
  await tagInput.fill('alpha');
  await tagInput.press('Enter');
  await expect(page.getByRole('list', { name: 'Tags' }).getByText('alpha')).toBeVisible();
  await page.getByLabel('Client id').fill('tether-post');
  await page.getByLabel('Client secret').fill('tether-test-secret');
  await page.getByRole('button', { name: 'Continue to the provider' }).click();

  await atProvider(page, true);
  await expect(page).toHaveURL(/\/instances\?instance=\d+$/);
  const [created] = await instancesAtTether();
  expect(created.name).toBe('E2E instance');
  expect(created.tags).toEqual(['alpha']);
  await waitForHydration(page);
  const card = page.locator(`[data-instance-id="${created.id}"]`);
  await expect(card.getByRole('heading', { name: 'E2E instance' })).toBeVisible();
  await expect(card.getByTestId('health')).toHaveText('Healthy');

  // The browser's Back to the landing page opens the same instance again, with no error and nothing made twice.
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`/instances\\?instance=${created.id}$`));
  await expect(page.getByTestId('oauth-error')).toHaveCount(0);
  expect(await instancesAtTether()).toHaveLength(1);
  await waitForHydration(page);

  // View the token, then copy it.
  await card.getByRole('button', { name: 'View token' }).click();
  const token = card.getByTestId('instance-token');
  await expect(token).toHaveText(/^[A-Za-z0-9_-]{43}$/);
  await card.getByRole('button', { name: 'Copy' }).click();
  await expect(card.getByText('Copied')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await token.textContent());

  // Add a tag.
  await card.getByRole('button', { name: 'Edit' }).click();
  const editTag = card.getByLabel('Add a tag');
  await editTag.fill('beta');
  await editTag.press('Enter');
  await card.getByRole('button', { name: 'Update' }).click();
  await expect(card.locator('.instance-tags')).toHaveText(/alpha\s*beta/);
  expect((await instancesAtTether())[0].tags).toEqual(['alpha', 'beta']);

  // Re-authenticate: the same instance, the same token.
  const tokenBefore = await token.textContent();
  await card.getByRole('button', { name: 'Re-authenticate' }).click();
  await atProvider(page, true);
  await expect(page).toHaveURL(new RegExp(`/instances\\?instance=${created.id}$`));
  await waitForHydration(page);
  expect((await instancesAtTether()).map((instance) => instance.id)).toEqual([created.id]);
  await card.getByRole('button', { name: 'View token' }).click();
  await expect(card.getByTestId('instance-token')).toHaveText(tokenBefore!);

  // Try it out: the provider's userinfo endpoint, through the proxy, with the instance's access token.
  await card.getByRole('button', { name: 'Try it out' }).click();
  const tryForm = card.getByRole('form', { name: 'Try it out' });
  await tryForm.getByLabel('Path').fill('me');
  await tryForm.getByRole('button', { name: 'Send' }).click();
  await expect(tryForm.getByTestId('try-status')).toHaveText('200');
  await expect(tryForm.getByTestId('try-body')).toContainText('"sub": "alice"');

  // Disable, then enable.
  await card.getByRole('button', { name: 'Disable' }).click();
  await expect(card.getByTestId('health')).toHaveText('Disabled');
  await expect(card.getByTestId('health')).toHaveClass(/health-disabled/);
  await card.getByRole('button', { name: 'Enable' }).click();
  await expect(card.getByTestId('health')).toHaveText('Healthy');

  // The catalog card counts it.
  await page.goto(`${baseUrl()}/catalog`);
  await waitForHydration(page);
  await page.getByRole('searchbox', { name: 'Search elements' }).fill('E2E identity');
  await expect(page.locator('.element-card').first().getByTestId('instance-count')).toHaveText('1 instance');

  // Delete, with a confirmation.
  await page.goto(`${baseUrl()}/instances`);
  await waitForHydration(page);
  await card.getByRole('button', { name: 'Delete' }).click();
  const confirm = card.getByRole('alertdialog', { name: 'Confirm deletion' });
  await confirm.getByRole('button', { name: 'Delete instance' }).click();
  await expect(card).toHaveCount(0);
  expect(await instancesAtTether()).toEqual([]);
});

test('denying consent shows the error and creates nothing', async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await openAuthenticateForm(page);
  await page.getByLabel('Name').fill('Denied instance');
  await page.getByLabel('Client id').fill('tether-post');
  await page.getByLabel('Client secret').fill('tether-test-secret');
  await page.getByRole('button', { name: 'Continue to the provider' }).click();
  await atProvider(page, false);
  await expect(page).toHaveURL(/\/oauth\/callback\?/);
  await expect(page.getByTestId('oauth-error')).toContainText('Access was denied');
  await expect(page.getByRole('link', { name: 'Back to the catalog' })).toBeVisible();
  expect(await instancesAtTether()).toEqual([]);

  // Opening the same landing URL again is a replay: refused, and still nothing is created.
  await page.reload();
  await expect(page.getByTestId('oauth-error')).toContainText('expired or was already completed');
  expect(await instancesAtTether()).toEqual([]);
});

test('a client-credentials element is authenticated with its client id and secret, and refused ones are said', async ({ page }) => {
  const key = 'e2e-machine';
  const created = await api('POST', '/elements', {
    key,
    name: 'E2E machine API',
    hub: 'general',
    auth: 'clientCredentials',
    oauth: { tokenUrl: `${provider.issuer}/token`, scopes: ['api'] },
    api: { baseUrl: `${provider.issuer}/test/api`, credentials: { in: 'bearer' } },
  });
  expect(created.status, await created.text()).toBe(200);
  await signIn(page);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/catalog/${key}`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Authenticate' }).click();
  await expect(page.getByRole('textbox', { name: 'Name', exact: true })).toBeFocused();
  await page.getByLabel('Name').fill('E2E machine');
  await page.getByLabel('Client id').fill('tether-machine');
  await page.getByLabel('Client secret').fill('not-the-secret');
  await page.getByRole('button', { name: 'Authenticate' }).click();
  await expect(page.getByRole('alert')).toContainText('invalid_client');
  const none = await api('GET', `/instances?element=${key}`);
  expect(await none.json()).toEqual([]);

  await page.getByLabel('Client secret').fill('tether-test-secret');
  await page.getByRole('button', { name: 'Authenticate' }).click();
  await expect(page).toHaveURL(/\/instances\?instance=\d+$/);
  const listed = await (await api('GET', `/instances?element=${key}`)).json();
  expect(listed).toHaveLength(1);
  expect(listed[0].configuration['oauth.api.key']).toBe('tether-machine');
  expect(listed[0].health.renewable).toBe(true);
});
