// Two-step sign-in in the console: an authenticator app enrolled from the profile, a wrong code refused, and a
// phone changed through the API confirmed by a texted code at the next sign-in (read from the outbox).
import { test, expect, Browser, Page } from '@playwright/test';
import { admin, api, baseUrl, signIn, waitForHydration } from '../support/console';
import { totpCode } from '../support/totp';

const PASSWORD = 'a long enough password';

async function newMember(email: string): Promise<{ id: number; account: number }> {
  const accounts = await (await api('GET', '/accounts')).json();
  const created = await api('POST', `/accounts/${accounts[0].id}/users`, { emailAddress: email, password: PASSWORD });
  expect(created.status).toBe(200);
  return { id: (await created.json()).id, account: accounts[0].id };
}

async function signOut(page: Page, email: string) {
  await page.getByRole('button', { name: email }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${baseUrl()}/signin`);
}

/** Reads the newest texted code for `phone` from the outbox on the admin's Notices page, in its own browser. */
async function textedCode(browser: Browser, phone: string): Promise<string> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, admin().email, admin().password);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/notices`);
  const message = page.locator('[data-testid="notice"][data-channel="sms"]').filter({ hasText: phone }).first();
  await expect(message).toBeVisible();
  const body = (await message.locator('.notice-body').textContent())!;
  await context.close();
  const code = body.match(/\b(\d{6})\b/);
  expect(code, body).not.toBeNull();
  return code![1];
}

test('enrol an authenticator app, sign out, and sign in with its code; a wrong code is refused', async ({ page }) => {
  const email = 'authenticator@example.com';
  await newMember(email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/profile`);
  await waitForHydration(page);
  await expect(page.getByTestId('two-factor-state')).toContainText('Off');
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
  const key = (await page.getByTestId('totp-secret').textContent())!;
  expect(key).toMatch(/^[A-Z2-7]{32}$/);
  // A wrong code first: refused, and the key the user scanned stays on the page.
  const enrolAt = Date.now() / 1000;
  const accepting = [enrolAt - 30, enrolAt, enrolAt + 30, enrolAt + 60].map((at) => totpCode(key, at));
  const mistyped = ['000000', '111111', '222222', '333333', '444444'].find((code) => !accepting.includes(code))!;
  await page.getByLabel('Code').fill(mistyped);
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByRole('alert')).toContainText('not right');
  await expect(page.getByTestId('totp-secret')).toHaveText(key);
  await page.getByLabel('Code').fill(totpCode(key));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await expect(page.getByTestId('two-factor-state')).toContainText('On, with an authenticator app');

  await signOut(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(`${baseUrl()}/signin/code`);
  await expect(page.getByTestId('code-prompt')).toContainText('authenticator app');
  await waitForHydration(page);
  // A wrong code: one that is not the app's for any step the server accepts.
  const now = Date.now() / 1000;
  const accepted = [now - 30, now, now + 30, now + 60].map((at) => totpCode(key, at));
  const wrong = ['000000', '111111', '222222', '333333', '444444'].find((code) => !accepted.includes(code))!;
  await page.getByLabel('Code').fill(wrong);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toContainText('That code is not right');
  await expect(page).toHaveURL(`${baseUrl()}/signin/code`);

  // The next step's code: the enrolment used this step's, and each step is accepted once.
  await page.getByLabel('Code').fill(totpCode(key, Date.now() / 1000 + 30));
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await expect(page.getByRole('button', { name: email })).toBeVisible();

  // The audit log has each step with its actor and time, and neither the key nor a code.
  const audit = await (await api('GET', '/audit?pageSize=200')).json();
  const text = JSON.stringify(audit);
  for (const action of ['two_factor.enrolled.totp', 'session.code_refused', 'session.opened']) {
    const record = audit.find((entry: { action: string }) => entry.action === action);
    expect(record, action).toBeTruthy();
    expect(record.actor).toMatch(/^(user:\d+|email:.+)$/);
    expect(Date.parse(record.at)).not.toBeNaN();
  }
  expect(text).not.toContain(key);
  expect(text).not.toContain(PASSWORD);
});

test('a phone changed through the API is confirmed by a texted code at the next sign-in', async ({ page, browser }) => {
  const email = 'texted@example.com';
  const member = await newMember(email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/profile`);
  await waitForHydration(page);
  const phoneForm = page.getByRole('region', { name: 'Two-step sign-in' });
  await phoneForm.getByLabel('Phone').fill('+14155550100');
  await page.getByRole('button', { name: 'Text me a code' }).click();
  await expect(page.getByText('We texted a 6-digit code')).toBeVisible();
  await phoneForm.getByLabel('Code').fill(await textedCode(browser, '+14155550100'));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await expect(page.getByTestId('two-factor-state')).toContainText('On, with text messages to +14155550100.');
  await signOut(page, email);

  // An admin gives the user a new number through the accounts API: it is unconfirmed until the next sign-in.
  const patched = await api('PATCH', `/accounts/${member.account}/users/${member.id}`, { phone: '+14155550199' });
  expect(patched.status).toBe(200);
  const user = await patched.json();
  expect(user.phone).toBe('+14155550199');
  expect(user.phoneConfirmed).toBe(false);

  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(`${baseUrl()}/signin/code`);
  await expect(page.getByTestId('code-prompt')).toContainText('Your phone number changed');
  await expect(page.getByTestId('code-prompt')).toContainText('0199');
  await waitForHydration(page);
  const confirmation = await textedCode(browser, '+14155550199');
  await page.getByLabel('Code').fill(confirmation);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/profile`);
  await expect(page.getByTestId('two-factor-state')).toContainText('On, with text messages to +14155550199.');

  const audit = await (await api('GET', '/audit?pageSize=200')).json();
  for (const action of ['two_factor.enrolled.phone', 'user.phone_changed', 'user.phone_confirmed']) {
    const record = audit.find((entry: { action: string }) => entry.action === action);
    expect(record, action).toBeTruthy();
    expect(record.actor).toMatch(/^user:\d+$/);
    expect(Date.parse(record.at)).not.toBeNaN();
  }
  expect(JSON.stringify(audit)).not.toContain(confirmation);
});
