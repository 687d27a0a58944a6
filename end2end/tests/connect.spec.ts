// Connect, as a team's app and its end user meet it: a page of the team's own, on another loopback origin, loads
// /connect.js and calls Tether.connect with a connect session's URL; the end user connects the sandbox in the
// popup, and the promise resolves with the new instance, which carries the end user and the tags. Then the same
// with JavaScript turned off: links and form posts only, ending on the team's redirect URL.
import { test, expect } from '@playwright/test';
import * as http from 'node:http';
import { createHmac } from 'node:crypto';
import { signIn, waitForHydration } from '../support/console';
import { listen } from '../support/local-server';
import { startTether, RunningTether } from '../support/tether-server';

let tether: RunningTether;
let team: { url: string; stop: () => Promise<void> };
let hooks: { url: string; stop: () => Promise<void> };

const SIGNATURE_KEY = 'a-team-webhook-key-0123';

/** A lifecycle webhook as the team's receiver took it, with whether both signatures matched. */
interface Heard {
  body: any;
  signed: boolean;
}
const heard: Heard[] = [];

/** The team's webhook receiver: checks both signatures of every delivery, as a team's app would. */
function webhookReceiver(): http.Server {
  return http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => (raw += chunk));
    request.on('end', () => {
      const header = (name: string) => String(request.headers[name] ?? '');
      const id = header('webhook-id');
      const timestamp = header('webhook-timestamp');
      const hmac = (text: string) => createHmac('sha256', SIGNATURE_KEY).update(text).digest('base64');
      const signed =
        header('elements-webhook-signature') === `sha256=${hmac(raw)}` &&
        header('webhook-signature') === `v1,${hmac(`${id}.${timestamp}.${raw}`)}`;
      heard.push({ body: JSON.parse(raw), signed });
      response.writeHead(200);
      response.end();
    });
  });
}

/** The lifecycle webhooks heard of `type`, once each event id. */
function heardOf(type: string): Heard[] {
  const ids = new Set<string>();
  return heard.filter((one) => one.body.type === type && !ids.has(one.body.id) && ids.add(one.body.id));
}

test.describe.configure({ mode: 'serial' });

/** The team's app: a page with a Connect button, and the page its redirect URL names. */
function teamApp(): http.Server {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://team.invalid');
    if (url.pathname === '/done') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!DOCTYPE html><title>Back in the app</title><h1>Back in the app</h1>');
      return;
    }
    const session = url.searchParams.get('session') ?? '';
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<!DOCTYPE html>
<html><head><title>Team app</title><script src="${tether.baseUrl}/connect.js"></script></head>
<body>
  <button id="connect">Connect your CRM</button>
  <output id="result"></output>
  <script>
    document.getElementById('connect').addEventListener('click', function () {
      Tether.connect(${JSON.stringify(session)}).then(
        function (connected) { document.getElementById('result').textContent = JSON.stringify(connected); },
        function (error) { document.getElementById('result').textContent = 'failed: ' + error.reason; }
      );
    });
  </script>
</body></html>`);
  });
}

function authorization(): string {
  return `User ${tether.userSecret}, Organization ${tether.organizationSecret}`;
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${tether.baseUrl}/elements/api-v2${path}`, {
    method,
    headers: { authorization: authorization(), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return response.status === 204 ? null : response.json();
}

async function newSession(endUser: string, tags: string[]): Promise<{ id: string; url: string }> {
  return api('POST', '/connect/sessions', {
    endUser: { id: endUser, displayName: 'Ada' },
    elements: ['sandbox'],
    tags,
    redirectUrl: `${team.url}/done`,
  });
}

test.beforeAll(async () => {
  // Deliveries are tried every few hundred milliseconds here, rather than every second.
  tether = await startTether({ TETHER_SANDBOX: 'true', TETHER_WORKER_TICK_MILLIS: '200' });
  team = await listen(teamApp());
  hooks = await listen(webhookReceiver());
  // The team's setup: the sandbox's OAuth app, saved once, and its own page among the redirect URLs.
  const control = await (await fetch(`${tether.baseUrl}/sandbox`)).text();
  const secret = control.match(/data-testid="client-secret">([^<]+)</)![1];
  await api('PUT', '/elements/sandbox/oauth/app', {
    apiKey: 'tether-sandbox',
    apiSecret: secret,
    callbackUrl: `${tether.baseUrl}/oauth/callback`,
  });
  await api('PUT', '/connect/redirect-urls', { urls: [`${team.url}/done`] });
  await api('POST', '/webhooks', { url: hooks.url, signatureKey: SIGNATURE_KEY, events: ['instance.created'] });
});

test.afterAll(async () => {
  await hooks?.stop();
  await team?.stop();
  await tether?.stop();
});

test('the team page connects the sandbox in a popup and hears the new instance', async ({ page }) => {
  const session = await newSession('end-user-1', ['e2e', 'popup']);
  await page.goto(`${team.url}/?session=${encodeURIComponent(session.url)}`);
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Connect your CRM' }).click()]);
  const pageErrors: string[] = [];
  popup.on('pageerror', (error) => pageErrors.push(error.message));
  await expect(popup.getByTestId('connect-team')).toHaveText('Tether');
  await waitForHydration(popup);
  // With JavaScript on, the search filters as one types.
  await popup.getByRole('searchbox', { name: 'Search' }).fill('no such app');
  await expect(popup.getByRole('link', { name: 'Tether Sandbox' })).toHaveCount(0);
  await popup.getByRole('searchbox', { name: 'Search' }).fill('sandbox');
  await popup.getByRole('link', { name: 'Tether Sandbox' }).click();
  await expect(popup).toHaveURL(new RegExp(`^${tether.baseUrl}/sandbox/oauth/authorize\\?`));
  expect(pageErrors, 'the connect page hydrated without an error').toEqual([]);
  await popup.getByRole('button', { name: 'Allow' }).click();

  await expect(page.locator('#result')).toContainText('instanceId');
  const result = JSON.parse((await page.locator('#result').textContent())!);
  expect(result.element).toBe('sandbox');
  expect(result.endUserId).toBe('end-user-1');
  await expect.poll(() => popup.isClosed(), { message: 'connect.js closes the popup' }).toBe(true);

  const instance = await api('GET', `/instances/${result.instanceId}`);
  expect(instance.endUser).toEqual({ id: 'end-user-1', displayName: 'Ada' });
  expect(instance.tags).toEqual(['e2e', 'popup']);
  expect((await api('GET', `/connect/sessions/${session.id}`)).state).toBe('completed');

  // The team's webhook receiver hears of it, signed both ways.
  await expect.poll(() => heardOf('instance.created').length).toBe(1);
  const created = heardOf('instance.created')[0];
  expect(created.signed).toBe(true);
  expect(created.body.instance.id).toBe(result.instanceId);
  expect(created.body.instance.endUser.id).toBe('end-user-1');
});

test('closing the popup rejects the promise, and the session stays open', async ({ page }) => {
  const session = await newSession('end-user-3', []);
  await page.goto(`${team.url}/?session=${encodeURIComponent(session.url)}`);
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Connect your CRM' }).click()]);
  await expect(popup.getByTestId('connect-choices')).toBeVisible();
  await popup.close();
  await expect(page.locator('#result')).toHaveText('failed: closed');
  expect((await api('GET', `/connect/sessions/${session.id}`)).state).toBe('open');
});

test('with JavaScript off, links and form posts connect the sandbox and end on the redirect URL', async ({ browser }) => {
  // On a phone-sized screen, and by keyboard alone.
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const session = await newSession('end-user-2', ['no-script']);
  await page.goto(session.url);
  await expect(page.getByTestId('connect-team')).toHaveText('Tether');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  // Search is a plain GET form.
  await page.getByRole('searchbox', { name: 'Search' }).fill('sandbox');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/[?&]q=sandbox/);
  await page.getByRole('searchbox', { name: 'Search' }).focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Tether Sandbox' })).toBeFocused();
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Allow' }).click();

  await expect(page).toHaveURL(new RegExp(`^${team.url}/done\\?status=connected&instanceId=\\d+&element=sandbox$`));
  const instanceId = new URL(page.url()).searchParams.get('instanceId');
  const instance = await api('GET', `/instances/${instanceId}`);
  expect(instance.endUser.id).toBe('end-user-2');
  expect(instance.tags).toEqual(['no-script']);
  await context.close();
});

test('the Account page adds an endpoint, sends it a test, shows the answer and redelivers', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await signIn(page, tether.email, tether.password, tether.baseUrl);
  await expect(page).toHaveURL(`${tether.baseUrl}/`);
  await page.goto(`${tether.baseUrl}/account`);
  await waitForHydration(page);
  const section = page.getByRole('region', { name: 'Lifecycle webhooks' });
  await section.getByLabel('Endpoint URL').fill(`${hooks.url}/console`);
  await section.getByLabel('Signature key').fill(SIGNATURE_KEY);
  await section.getByLabel('Events (empty for every one)').fill('instance.deleted');
  await section.getByRole('button', { name: 'Add endpoint' }).click();
  const endpoint = section.getByTestId('webhook-endpoint').filter({ hasText: `${hooks.url}/console` });
  await expect(endpoint).toContainText('instance.deleted');

  await endpoint.getByRole('button', { name: 'Send test' }).click();
  const row = endpoint.getByTestId('webhook-delivery').filter({ hasText: 'webhook.test' });
  await expect(async () => {
    await endpoint.getByRole('button', { name: 'Show deliveries' }).click();
    await expect(row).toHaveAttribute('data-status', 'Notified', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(row).toContainText('200');
  await expect.poll(() => heardOf('webhook.test').length).toBe(1);
  expect(heardOf('webhook.test')[0].signed).toBe(true);

  const before = heard.filter((one) => one.body.type === 'webhook.test').length;
  await row.getByRole('button', { name: 'Redeliver' }).click();
  await expect.poll(() => heard.filter((one) => one.body.type === 'webhook.test').length).toBe(before + 1);
  expect(pageErrors, 'the page hydrated and ran without an error').toEqual([]);
});
