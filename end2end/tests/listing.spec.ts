// The Instances page with 250 instances made through the API: it counts them, pages them 25 at a time, orders,
// searches and filters them, and the URL keeps the view across a reload; the search form works before the page
// is interactive (here, with no JavaScript at all).
import { test, expect, Page } from '@playwright/test';
import { signIn, waitForHydration } from '../support/console';
import { startTether, RunningTether } from '../support/tether-server';

let tether: RunningTether;
const INSTANCES = 250;

test.describe.configure({ mode: 'serial' });

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${tether.baseUrl}/elements/api-v2${path}`, {
    method,
    headers: {
      authorization: `User ${tether.userSecret}, Organization ${tether.organizationSecret}`,
      'content-type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json();
}

test.beforeAll(async () => {
  tether = await startTether({ TETHER_API_RATE_LIMIT_PER_SECOND: '0' });
  await call('POST', '/elements', {
    key: 'e2e-listing',
    name: 'Listing service',
    hub: 'general',
    auth: 'basic',
    api: { baseUrl: 'https://listing.example.com/api', credentials: { in: 'basic' } },
    parameters: [
      { key: 'username', label: 'User name' },
      { key: 'password', label: 'Password', type: 'password', secret: true },
    ],
  });
  const ids: number[] = [];
  for (let n = 1; n <= INSTANCES; n++) {
    const name = `Customer ${String(n).padStart(3, '0')}`;
    const tags = n % 50 === 0 ? ['vip'] : [];
    const made = await call('POST', '/elements/e2e-listing/instances', {
      name,
      tags,
      configuration: { username: `user${n}`, password: 'pw' },
    });
    ids.push(made.id);
  }
  for (const id of ids.slice(0, 3)) await call('DELETE', `/instances/${id}/enabled`);
});

test.afterAll(async () => {
  await tether?.stop();
});

const firstName = (page: Page) => page.locator('.instance-card .instance-name').first();

test('250 instances page, order, search and filter, and the URL keeps the view', async ({ page }) => {
  await signIn(page, tether.email, tether.password, tether.baseUrl);
  await expect(page).not.toHaveURL(/\/signin/);
  await page.goto(`${tether.baseUrl}/instances`);
  await waitForHydration(page);
  await expect(page.getByTestId('listing-count')).toHaveText('250 instances');
  await expect(page.getByTestId('page-number')).toHaveText('Page 1 of 10');
  await expect(page.locator('.instance-card')).toHaveCount(25);
  await expect(firstName(page)).toHaveText('Customer 250');

  await page.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(/\/instances\?page=2$/);
  await expect(firstName(page)).toHaveText('Customer 225');
  await expect(page.getByTestId('page-number')).toHaveText('Page 2 of 10');

  await page.getByLabel('Order').selectOption('name');
  await expect(page).toHaveURL(/sort=name/);
  await expect(firstName(page)).toHaveText('Customer 001');
  await expect(page.getByTestId('page-number')).toHaveText('Page 1 of 10');

  await page.getByLabel('Search').fill('VIP');
  await page.getByLabel('Search').press('Enter');
  await expect(page).toHaveURL(/q=VIP/);
  await expect(page.getByTestId('listing-count')).toHaveText('5 instances');
  await expect(firstName(page)).toHaveText('Customer 050');

  await page.getByLabel('Search').fill('');
  await page.getByLabel('Filter by health').selectOption('disabled');
  await expect(page.getByTestId('listing-count')).toHaveText('3 instances');
  await expect(page).toHaveURL(/health=disabled/);
  const names = await page.locator('.instance-card .instance-name').allTextContents();
  expect(names).toEqual(['Customer 001', 'Customer 002', 'Customer 003']);

  // A reload shows the same view, with the form as it was.
  const url = page.url();
  await page.reload();
  await waitForHydration(page);
  expect(page.url()).toBe(url);
  await expect(page.getByTestId('listing-count')).toHaveText('3 instances');
  await expect(page.getByLabel('Filter by health')).toHaveValue('disabled');
  await expect(page.getByLabel('Order')).toHaveValue('name');
});

test('the search form works without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  // Signing in needs the console's script; the session cookie is carried over from a signed-in page.
  const signedIn = await browser.newPage();
  await signIn(signedIn, tether.email, tether.password, tether.baseUrl);
  await expect(signedIn).not.toHaveURL(/\/signin/);
  await context.addCookies(await signedIn.context().cookies());
  await page.goto(`${tether.baseUrl}/instances`);
  await page.getByLabel('Search').fill('customer 12');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=customer\+12/);
  await expect(page.getByTestId('listing-count')).toHaveText('10 instances');
  await context.close();
  await signedIn.close();
});
