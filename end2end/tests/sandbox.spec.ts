// Tether Sandbox from a fresh `make run` setup: sign in, authenticate a sandbox instance through the sandbox's own
// sign-in and consent page, try its API, create a contact on the sandbox's control page and see it as a polled
// event, then as a webhook event; stage a token-endpoint outage and watch the instance go from "Refresh failing"
// to "Disabled" with a notice in the outbox; end the outage, enable it, and see it healthy again; then revoke its
// grant at the sandbox and re-authenticate it. Last, hand a connection to an end user: a connect session, its hosted
// page, and the signed instance.created in the sandbox inbox.
// With TETHER_SCREENSHOTS set to a folder, the walk-through's screenshots for the README are saved there.
import { test, expect, Page, Locator } from '@playwright/test';
import { signIn, waitForHydration } from '../support/console';
import { startTether, RunningTether } from '../support/tether-server';

let tether: RunningTether;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  tether = await startTether({
    // What `make run` sets.
    TETHER_SANDBOX: 'true',
    TETHER_ALLOW_PRIVATE_NETWORK: 'true',
    // Faster than the defaults, so the whole story fits in a test: access tokens live 70 s and are renewed 60 s
    // before they expire, and three failed refreshes, 3 s apart, disable an instance.
    TETHER_SANDBOX_ACCESS_TOKEN_SECONDS: '70',
    TETHER_REFRESH_MARGIN_SECONDS: '60',
    TETHER_REFRESH_ATTEMPTS: '3',
    TETHER_REFRESH_RETRY_SECONDS: '3',
  });
});

test.afterAll(async () => {
  await tether?.stop();
});

/** The instance's health, through the REST API as the first organization's admin. */
async function instanceHealth(id: number): Promise<{ state: string; lastRefreshedAt: string | null }> {
  const authorization = `User ${tether.userSecret}, Organization ${tether.organizationSecret}`;
  const response = await fetch(`${tether.baseUrl}/elements/api-v2/instances/${id}`, { headers: { authorization } });
  expect(response.status).toBe(200);
  return (await response.json()).health;
}

async function shot(page: Page, name: string) {
  const folder = process.env.TETHER_SCREENSHOTS;
  if (folder) await page.screenshot({ path: `${folder}/${name}.png` });
}

/** Reloads the instances page until the card's health reads `label`. */
async function expectHealth(page: Page, card: Locator, label: string, timeout: number) {
  await expect(async () => {
    await page.reload();
    await waitForHydration(page);
    await expect(card.getByTestId('health')).toHaveText(label, { timeout: 1000 });
  }).toPass({ timeout });
}

/** Reloads the Events page until a row heard by `source` names `object` with `change`. */
async function expectEvent(page: Page, source: string, object: string, change: string) {
  await page.goto(`${tether.baseUrl}/events`);
  await waitForHydration(page);
  const row = page.locator(`[data-testid="event"][data-source="${source}"]`).filter({ hasText: object });
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(row.first()).toContainText(change, { timeout: 1000 });
  }).toPass({ timeout: 45_000 });
}

async function sendTryItOut(card: Locator, method: string, path: string, body?: string) {
  const tryForm = card.getByRole('form', { name: 'Try it out' });
  await tryForm.getByLabel('Method').selectOption(method);
  await tryForm.getByLabel('Path').fill(path);
  if (body !== undefined) await tryForm.getByLabel('JSON body').fill(body);
  await tryForm.getByRole('button', { name: 'Send' }).click();
  return tryForm;
}

test('the sandbox walk-through: connect, call, events, outage, recovery', async ({ page }) => {
  test.setTimeout(240_000);
  const base = tether.baseUrl;

  // 1. Sign in.
  await signIn(page, tether.email, tether.password, base);
  await expect(page).toHaveURL(`${base}/`);

  // A new organization's first page points to the tour: the sandbox's control page shows the OAuth app to use.
  await waitForHydration(page);
  const firstRun = page.getByTestId('first-run');
  await expect(firstRun).toContainText('Connect your first account');
  await firstRun.getByRole('link', { name: "the sandbox's control page" }).click();
  await expect(page).toHaveURL(`${base}/sandbox`);
  const clientId = (await page.getByTestId('client-id').textContent())!;
  const clientSecret = (await page.getByTestId('client-secret').textContent())!;
  expect(clientSecret).toMatch(/^[A-Za-z0-9]{32}$/);
  await shot(page, '1-sandbox-control-page');

  // 2. Authenticate a sandbox instance from the catalog, with events by polling into the sandbox's inbox.
  await page.goto(`${base}/catalog`);
  await waitForHydration(page);
  await page.getByRole('searchbox', { name: 'Search elements' }).fill('Tether Sandbox');
  await expect(page.locator('.element-card').first()).toContainText('Tether Sandbox');
  await page.goto(`${base}/catalog/sandbox`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Authenticate' }).click();
  await page.getByLabel('Name').fill('My sandbox CRM');
  await page.getByLabel('Client id').fill(clientId);
  await page.getByLabel('Client secret').fill(clientSecret);
  await page.getByLabel("Save as the organization's OAuth app for this element").check();
  await page.getByText('Show optional fields').click();
  await page.getByRole('switch', { name: 'Events enabled' }).check();
  await page.getByLabel('Event type').selectOption('polling');
  await page.getByLabel('Callback URL').fill(`${base}/sandbox/inbox`);
  await page.getByLabel('Signature key').fill('my-signing-key');
  await page.getByLabel('Refresh interval').focus();
  await page.getByLabel('Refresh interval').press('Home');
  await expect(page.getByTestId('interval-label')).toHaveText('every 3 seconds');
  await expect(page.getByTestId('events-problem')).toHaveCount(0);
  await shot(page, '2-authenticate-form');
  await page.getByRole('button', { name: 'Continue to the provider' }).click();

  // The sandbox's sign-in and consent page.
  await expect(page).toHaveURL(new RegExp(`^${base}/sandbox/oauth/authorize\\?`));
  await expect(page.getByText('asks to read and change your sandbox CRM')).toBeVisible();
  await shot(page, '3-sandbox-consent');
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(/\/instances\?instance=\d+$/);
  const instanceId = new URL(page.url()).searchParams.get('instance')!;
  await waitForHydration(page);
  const card = page.locator(`[data-instance-id="${instanceId}"]`);
  await expect(card.getByTestId('health')).toHaveText('Healthy');
  await expect(card).toContainText('events on');
  await expect(page.getByTestId('listing-count')).toContainText(`Instance ${instanceId}`);
  // With an instance made, the first page no longer shows the first-run panel.
  await page.goto(`${base}/`);
  await waitForHydration(page);
  await expect(page.locator('.element-card').first()).toBeVisible();
  await expect(page.getByTestId('first-run')).toHaveCount(0);
  await page.goto(`${base}/instances?instance=${instanceId}`);
  await waitForHydration(page);

  // 3. Try it out: the sandbox CRM's contacts, through the proxy.
  await card.getByRole('button', { name: 'Try it out' }).click();
  let tryForm = await sendTryItOut(card, 'GET', 'me');
  await expect(tryForm.getByTestId('try-status')).toHaveText('200');
  await expect(tryForm.getByTestId('try-body')).toContainText('"login": "demo"');
  await shot(page, '4-try-it-out');

  // 4. Create a contact on the sandbox's control page.
  await page.goto(`${base}/sandbox`);
  const newContact = page.getByRole('form', { name: 'New contact' });
  await newContact.getByLabel('Name').fill('Ada Lovelace');
  await newContact.getByLabel('Email').fill('ada@example.com');
  await newContact.getByRole('button', { name: 'Create' }).click();
  const created = page.getByRole('status');
  await expect(created).toContainText(/Contact \d+ created\./);
  const contactId = (await created.textContent())!.match(/Contact (\d+)/)![1];

  // 5. The poller finds it: a polled CREATED event on the Events page, delivered signed to the inbox.
  await expectEvent(page, 'polling', `contacts ${contactId}`, 'CREATED');
  await shot(page, '5-events-page');
  await expect(async () => {
    await page.goto(`${base}/sandbox`);
    await expect(page.getByTestId('delivery').filter({ hasText: `CREATED contacts ${contactId}` })).toContainText(
      'signed',
      { timeout: 1000 },
    );
  }).toPass({ timeout: 30_000 });

  // Then by webhook: the instance switches to webhooks in its Edit form, subscribes through Try it out, and a
  // change to the contact on the control page arrives as a webhook event.
  await page.goto(`${base}/instances?instance=${instanceId}`);
  await waitForHydration(page);
  await card.getByRole('button', { name: 'Edit' }).click();
  await card.getByLabel('Event type').selectOption('webhooks');
  await card.getByRole('button', { name: 'Update' }).click();
  await expect(card.getByRole('button', { name: 'Edit' })).toBeVisible();
  await card.getByRole('button', { name: 'Try it out' }).click();
  const inbound = `${base}/elements/api-v2/events/sandbox/${instanceId}`;
  tryForm = await sendTryItOut(card, 'POST', 'webhooks', JSON.stringify({ url: inbound }));
  await expect(tryForm.getByTestId('try-status')).toHaveText('201');
  await page.goto(`${base}/sandbox`);
  const contact = page.getByRole('form', { name: `Contact ${contactId}` });
  await contact.getByLabel('Name').fill('Ada King');
  await contact.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toContainText(`Contact ${contactId} updated.`);
  await expectEvent(page, 'webhooks', `contacts ${contactId}`, 'UPDATED');

  // 6. The token endpoint fails: the next refreshes fail, the instance shows it, then is disabled, and a notice
  // waits in the outbox (make run has no SMTP server).
  await page.goto(`${base}/sandbox`);
  await page.getByLabel('Minutes').fill('5');
  await page.getByRole('button', { name: 'Start the outage' }).click();
  await expect(page.getByTestId('outage')).toContainText('503');
  await shot(page, '6-outage-staged');
  // The instance page, left open: its timeline gains each failed refresh, then the disabling, with no reload.
  await page.goto(`${base}/instances/${instanceId}`);
  await waitForHydration(page);
  await page.evaluate(() => ((window as unknown as { stillThisPage: boolean }).stillThisPage = true));
  const timeline = page.getByTestId('timeline');
  await expect(timeline.locator('[data-kind="refresh_failed"]').first()).toContainText('attempt 1 of 3', {
    timeout: 90_000,
  });
  await shot(page, '7-refresh-failing');
  await expect(timeline.locator('[data-kind="disabled"]')).toContainText('by Tether', { timeout: 30_000 });
  await expect(timeline.locator('[data-kind="refresh_failed"]')).toHaveCount(3);
  await expect(page.getByTestId('health')).toHaveText('Disabled');
  await expect(page.getByTestId('calls').getByTestId('call').first()).toBeVisible();
  await expect(timeline.locator('[data-kind="created"]')).toContainText(`by ${tether.email}`);
  expect(await page.evaluate(() => (window as unknown as { stillThisPage?: boolean }).stillThisPage)).toBe(true);
  await shot(page, '7b-instance-page');
  await page.goto(`${base}/instances?instance=${instanceId}`);
  await waitForHydration(page);
  await expectHealth(page, card, 'Disabled', 30_000);
  await page.goto(`${base}/notices`);
  await waitForHydration(page);
  const notice = page.getByTestId('notice').filter({ hasText: 'My sandbox CRM' }).first();
  await expect(notice).toContainText('Tether disabled the instance');
  await expect(notice).toContainText('In the outbox');
  await shot(page, '8-notice-in-outbox');

  // 7. End the outage and enable the instance: the refresher renews its token and it is healthy again.
  await page.goto(`${base}/sandbox`);
  await page.getByRole('button', { name: 'End the outage' }).click();
  await expect(page.getByTestId('outage')).toContainText('answers normally');
  await page.goto(`${base}/instances?instance=${instanceId}`);
  await waitForHydration(page);
  const enabledAt = Date.now();
  await card.getByRole('button', { name: 'Enable' }).click();
  await expectHealth(page, card, 'Healthy', 30_000);
  // The refresher renews the token (within a minute of its last success), and the outbox says it works again.
  await expect
    .poll(async () => Date.parse((await instanceHealth(Number(instanceId))).lastRefreshedAt ?? '') || 0, {
      timeout: 90_000,
    })
    .toBeGreaterThan(enabledAt);
  await page.goto(`${base}/notices`);
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: /My sandbox CRM.* works again/ })).toBeVisible();
  await shot(page, '9-recovered');
  await page.goto(`${base}/instances?instance=${instanceId}`);
  await waitForHydration(page);
  await card.getByRole('button', { name: 'Try it out' }).click();
  tryForm = await sendTryItOut(card, 'GET', 'contacts');
  await expect(tryForm.getByTestId('try-status')).toHaveText('200');
  await expect(tryForm.getByTestId('try-body')).toContainText('Ada King');

  // Revoking every grant at the sandbox: the next call is refused and the refresh after it gets invalid_grant,
  // so the instance needs re-authenticating; Re-authenticate through the consent page brings the same instance back.
  await page.goto(`${base}/sandbox`);
  await page.getByRole('button', { name: 'Revoke all grants' }).click();
  await expect(page.getByRole('status')).toContainText('Revoked 1 grant(s)');
  await page.goto(`${base}/instances?instance=${instanceId}`);
  await waitForHydration(page);
  await card.getByRole('button', { name: 'Try it out' }).click();
  tryForm = await sendTryItOut(card, 'GET', 'contacts');
  await expect(tryForm.getByRole('alert')).toContainText('no longer accepts');
  await expectHealth(page, card, 'Needs re-authentication', 30_000);
  await card.getByRole('button', { name: 'Re-authenticate' }).click();
  await expect(page).toHaveURL(new RegExp(`^${base}/sandbox/oauth/authorize\\?`));
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(new RegExp(`/instances\\?instance=${instanceId}$`));
  await waitForHydration(page);
  await expect(card.getByTestId('health')).toHaveText('Healthy');
  await card.getByRole('button', { name: 'Try it out' }).click();
  tryForm = await sendTryItOut(card, 'GET', 'contacts');
  await expect(tryForm.getByTestId('try-status')).toHaveText('200');

  // 9. Hand a connection to your own user: the inbox as a lifecycle webhook endpoint on the Account page, a
  // connect session from one API call (the README's curl), the hosted page as an end user with no console
  // session, and the signed instance.created in the inbox.
  await page.goto(`${base}/account`);
  await waitForHydration(page);
  const lifecycle = page.getByRole('region', { name: 'Lifecycle webhooks' });
  await lifecycle.getByLabel('Endpoint URL').fill(`${base}/sandbox/inbox`);
  await lifecycle.getByLabel('Signature key').fill('my-lifecycle-signing-key');
  await lifecycle.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(lifecycle.getByTestId('webhook-endpoint')).toContainText(`${base}/sandbox/inbox`);
  const sessionAnswer = await fetch(`${base}/elements/api-v2/connect/sessions`, {
    method: 'POST',
    headers: {
      authorization: `User ${tether.userSecret}, Organization ${tether.organizationSecret}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ endUser: { id: 'customer-1' }, elements: ['sandbox'] }),
  });
  expect(sessionAnswer.status).toBe(201);
  const session = await sessionAnswer.json();
  const endUserContext = await page.context().browser()!.newContext();
  const endUser = await endUserContext.newPage();
  await endUser.goto(session.url);
  await endUser.getByRole('link', { name: 'Tether Sandbox' }).click();
  await endUser.getByRole('button', { name: 'Allow' }).click();
  await expect(endUser.getByTestId('connect-done')).toHaveText('Connected to Tether Sandbox');
  await shot(endUser, '10-connected-by-an-end-user');
  await endUserContext.close();
  const connected = (await (await fetch(`${base}/elements/api-v2/connect/sessions/${session.id}`, {
    headers: { authorization: `User ${tether.userSecret}, Organization ${tether.organizationSecret}` },
  })).json()).instanceId;
  await expect(async () => {
    await page.goto(`${base}/sandbox`);
    await expect(page.getByTestId('delivery').filter({ hasText: `instance.created instance ${connected}` })).toContainText(
      'signed',
      { timeout: 1000 },
    );
  }).toPass({ timeout: 30_000 });
});
