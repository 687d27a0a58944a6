// The console's shell: sign-in with the first-start credentials, the session across reloads, hydration, sign-out.
import { test, expect } from '@playwright/test';
import { admin, api, baseUrl, signIn, waitForHydration } from '../support/console';

test('a page load without a session goes to sign-in, and signing in returns to that page', async ({ page }) => {
  await page.goto(`${baseUrl()}/events?status=FAILED`);
  await expect(page).toHaveURL(`${baseUrl()}/signin?next=%2Fevents%3Fstatus%3DFAILED`);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page).toHaveTitle('Sign in · Tether');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(admin().email);
  await page.getByLabel('Password').fill(admin().password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${baseUrl()}/events?status=FAILED`);
  await expect(page).toHaveTitle('Events · Tether');
});

test('a wrong password is refused with a message', async ({ page }) => {
  await signIn(page, admin().email, 'not-the-password');
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password');
  await expect(page).toHaveURL(`${baseUrl()}/signin`);
});

test('sign in, see the shell, reload, use the menu, sign out', async ({ page }) => {
  // The pages' Content-Security-Policy lets the console's own scripts and WebAssembly run: nothing is blocked.
  const blocked: string[] = [];
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) blocked.push(message.text());
  });
  await signIn(page, admin().email, admin().password);
  await expect(page).toHaveURL(`${baseUrl()}/`);

  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const item of ['Catalog', 'Instances', 'Events', 'Account']) {
    await expect(nav.getByRole('link', { name: item })).toBeVisible();
  }
  const menuButton = page.getByRole('button', { name: admin().email });
  await expect(menuButton).toBeVisible();

  // The session survives a full reload: the server renders the shell again, not the sign-in page.
  await page.reload();
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await expect(page.getByRole('button', { name: admin().email })).toBeVisible();

  // The menu is not in the server's HTML; only the WebAssembly click handler opens it.
  await waitForHydration(page);
  await expect(page.getByRole('menu')).toHaveCount(0);
  await page.getByRole('button', { name: admin().email }).click();
  await expect(page.getByRole('menu')).toBeVisible();
  await expect(page.getByRole('menu')).toContainText('Tether');
  // Escape closes it.
  await page.keyboard.press('Escape');
  await expect(page.getByRole('menu')).toHaveCount(0);

  // Client-side navigation to the account page, which reads from the hub through server functions; a menu left
  // open closes on the way.
  await page.getByRole('button', { name: admin().email }).click();
  await expect(page.getByRole('menu')).toBeVisible();
  await nav.getByRole('link', { name: 'Account' }).click();
  await expect(page.getByRole('menu')).toHaveCount(0);
  await expect(page).toHaveURL(`${baseUrl()}/account`);
  await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
  await expect(page.locator('table').first()).toContainText('Default');
  await expect(page.locator('table').nth(1)).toContainText(admin().email);

  await page.getByRole('button', { name: admin().email }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${baseUrl()}/signin`);

  // The session is gone on the server too.
  await page.goto(`${baseUrl()}/account`);
  await expect(page).toHaveURL(`${baseUrl()}/signin?next=%2Faccount`);
  expect(blocked).toEqual([]);
});

test('the audit page lists sign-ins, refused ones too, and filters by action', async ({ page }) => {
  await signIn(page, admin().email, 'a-wrong-password-for-the-audit');
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password');
  await signIn(page, admin().email, admin().password);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/audit`);
  await waitForHydration(page);
  const records = page.getByTestId('audit-record');
  await expect(records.filter({ hasText: 'session.opened' }).first()).toBeVisible();
  await page.getByLabel('Action').fill('session.refused');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(records.first()).toContainText(`email:${admin().email}`);
  const shown = await records.allTextContents();
  expect(shown.length).toBeGreaterThan(0);
  for (const row of shown) expect(row).toContain('session.refused');
  await expect(page.locator('table[aria-label="Audit log"]')).not.toContainText('a-wrong-password-for-the-audit');
});

test('rotating the user secret in the console retires the old one for the API', async ({ page }) => {
  // A member of its own, so the admin's secrets the other tests use stay as they are.
  const accounts = await (await api('GET', '/accounts')).json();
  const created = await api('POST', `/accounts/${accounts[0].id}/users`, {
    emailAddress: 'rotator@example.com',
    password: 'a long enough password',
  });
  expect(created.status).toBe(200);
  const oldSecret: string = (await created.json()).secret;
  const call = (userSecret: string) =>
    fetch(`${baseUrl()}/elements/api-v2/accounts`, {
      headers: { Authorization: `User ${userSecret}, Organization ${process.env.TETHER_ORGANIZATION_SECRET}` },
    });
  expect((await call(oldSecret)).status).toBe(200);

  await signIn(page, 'rotator@example.com', 'a long enough password');
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/account`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Rotate my user secret' }).click();
  // It asks first; Escape leaves everything as it was.
  const confirm = page.getByRole('alertdialog', { name: 'Rotate your user secret' });
  await expect(confirm.getByLabel('Grace period')).toHaveValue('0');
  await confirm.getByLabel('Grace period').press('Escape');
  await expect(confirm).toBeHidden();
  expect((await call(oldSecret)).status).toBe(200);
  await page.getByRole('button', { name: 'Rotate my user secret' }).click();
  await confirm.getByRole('button', { name: 'Rotate now' }).click();
  const shown = page.getByTestId('new-user-secret');
  await expect(shown).toHaveText(/^[A-Za-z0-9_-]{43}$/);
  const newSecret = (await shown.textContent())!;
  await expect(page.locator('.new-secret').getByRole('button', { name: 'Copy' })).toBeVisible();

  expect((await call(oldSecret)).status).toBe(401);
  expect((await call(newSecret)).status).toBe(200);
  // A member may not rotate the organization's secret.
  await page.getByRole('button', { name: 'Rotate the organization secret' }).click();
  await page.getByRole('alertdialog', { name: 'Rotate the organization secret' }).getByRole('button', { name: 'Rotate now' }).click();
  await expect(page.getByRole('alert')).toContainText('Only an organization admin');
});

test('the account page lists the saved OAuth apps with their secrets masked', async ({ page }) => {
  const secret = 'a-saved-client-secret-4e1a';
  const saved = await api('PUT', '/elements/infusionsoftrest/oauth/app', {
    apiKey: 'my-infusionsoft-client',
    apiSecret: secret,
    callbackUrl: 'https://app.example/callback',
  });
  expect(saved.status).toBe(200);
  await signIn(page, admin().email, admin().password);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/account`);
  await waitForHydration(page);
  const row = page.getByTestId('oauth-app').filter({ hasText: 'infusionsoftrest' });
  await expect(row).toContainText('my-infusionsoft-client');
  await expect(row).toContainText('********');
  await expect(row).toContainText('https://app.example/callback');
  await expect(page.locator('body')).not.toContainText(secret);
});

test('an admin adds a user, changes their phone, and disables and enables them on the Account page', async ({ page, browser }) => {
  await signIn(page, admin().email, admin().password);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/account`);
  await waitForHydration(page);
  const email = 'managed@example.com';
  await page.getByText('Add a user').first().click();
  const form = page.locator('details.add-user').first();
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('First name').fill('Managed');
  await form.getByRole('button', { name: 'Add user' }).click();
  const password = page.getByTestId('new-user-password');
  await expect(password).toHaveText(/^[A-Za-z0-9_-]{24}$/);
  const shownPassword = (await password.textContent())!;

  const row = page.locator(`[data-testid="user-row"][data-email="${email}"]`);
  await expect(row).toContainText('Active');
  await row.getByLabel('New phone').fill('+14155550142');
  await row.getByRole('button', { name: 'Change phone' }).click();
  await expect(row).toContainText('+14155550142 (unconfirmed)');

  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('Disabled');
  const other = await browser.newContext();
  const theirs = await other.newPage();
  await signIn(theirs, email, shownPassword);
  await expect(theirs.getByRole('alert')).toHaveText('Wrong email or password');

  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row).toContainText('Active');
  await signIn(theirs, email, shownPassword);
  await expect(theirs).toHaveURL(`${baseUrl()}/`);
  await other.close();
});

test('the API page lists the operations and links to the OpenAPI document', async ({ page }) => {
  await signIn(page, admin().email, admin().password);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API' }).click();
  await expect(page).toHaveURL(`${baseUrl()}/api`);
  const created = page.getByTestId('api-operation').filter({ hasText: 'Authenticates a new instance of the element named' });
  await expect(created).toContainText('POST');
  await expect(created).toContainText('/instances');
  const link = page.getByTestId('openapi-link');
  await expect(link).toHaveAttribute('href', '/elements/api-v2/openapi.json');
  const document = await (await fetch(`${baseUrl()}/elements/api-v2/openapi.json`)).json();
  expect(document.openapi).toBe('3.1.0');
  expect(Object.keys(document.paths)).toContain('/instances/{id}');
});
