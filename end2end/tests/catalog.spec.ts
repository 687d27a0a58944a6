// The catalog page: search as you type, filter chips, keyboard use, and an element's page with its parameters.
import { test, expect } from '@playwright/test';
import { baseUrl, signIn, waitForHydration } from '../support/console';

async function openCatalog(page: import('@playwright/test').Page) {
  await signIn(page);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  await page.goto(`${baseUrl()}/catalog`);
  await waitForHydration(page);
}

function countOf(text: string | null): number {
  return Number((text ?? '').split(' ')[0]);
}

test('typing narrows the grid and chips filter it', async ({ page }) => {
  await openCatalog(page);
  const count = page.getByTestId('catalog-count');
  await expect(count).toHaveText(/^\d+ elements$/);
  const everything = countOf(await count.textContent());
  expect(everything).toBeGreaterThanOrEqual(300);

  const search = page.getByRole('searchbox', { name: 'Search elements' });
  await search.pressSequentially('infusion');
  await expect(count).toHaveText(/^[1-5] elements?$/);
  const cards = page.locator('.element-card');
  await expect(cards.first()).toContainText('Infusionsoft');
  expect(await cards.count()).toBe(countOf(await count.textContent()));

  await search.fill('');
  await expect(count).toHaveText(`${everything} elements`);
  const hub = page.getByRole('group', { name: 'Hub' }).getByRole('button', { name: 'documents', exact: true });
  await hub.click();
  await expect(hub).toHaveAttribute('aria-pressed', 'true');
  const documents = countOf(await count.textContent());
  expect(documents).toBeGreaterThan(0);
  expect(documents).toBeLessThan(everything);
  await expect(cards.first()).toContainText('documents');
  await page.getByRole('group', { name: 'Authentication' }).getByRole('button', { name: 'OAuth 2.0' }).click();
  expect(countOf(await count.textContent())).toBeLessThanOrEqual(documents);
  await search.pressSequentially('drive');
  await expect(cards.first()).toContainText('Google Drive');
});

test('an element page shows its parameters, and Enter in the search opens the best match', async ({ page }) => {
  await openCatalog(page);
  const search = page.getByRole('searchbox', { name: 'Search elements' });
  await search.pressSequentially('infusionsoft crm');
  await expect(page.locator('.element-card').first()).toContainText('Infusionsoft CRM');
  await search.press('Enter');
  await expect(page).toHaveURL(`${baseUrl()}/catalog/infusionsoftcrm`);
  await expect(page.getByRole('heading', { name: 'Infusionsoft CRM', level: 1 })).toBeVisible();
  const parameters = page.getByRole('table', { name: 'Parameters' });
  await expect(parameters).toContainText('Infusionsoft Server');
  await expect(parameters).toContainText('infusionsoft.private.key');
  await expect(parameters.getByRole('row', { name: /Encrypted Key/ })).toContainText('encrypted');
  await expect(page.getByRole('button', { name: 'Authenticate' })).toBeVisible();

  // A full page load of an element renders on the server too.
  await page.goto(`${baseUrl()}/catalog/sfdc`);
  await expect(page.getByRole('heading', { name: 'Salesforce', level: 1 })).toBeVisible();
  await expect(page.getByText('salesforce', { exact: true })).toBeVisible();

  await page.getByRole('link', { name: '← Catalog' }).click();
  await expect(page).toHaveURL(`${baseUrl()}/catalog`);
  await page.goto(`${baseUrl()}/catalog/no-such-element`);
  await expect(page.getByText('No element with key or id no-such-element')).toBeVisible();
});

test('text typed in the search before the page becomes interactive is kept', async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(`${baseUrl()}/`);
  // Holds the WebAssembly back, as a slow link would, until the search has been typed into.
  let release: () => void = () => {};
  const typed = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/*.wasm', async (route) => {
    await typed;
    await route.continue();
  });
  await page.goto(`${baseUrl()}/catalog`, { waitUntil: 'domcontentloaded' });
  const search = page.getByRole('searchbox', { name: 'Search elements' });
  await search.pressSequentially('infusion');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(0);
  release();
  await waitForHydration(page);
  await expect(search).toHaveValue('infusion');
  await expect(page.getByTestId('catalog-count')).toHaveText(/^[1-5] elements?$/);
  await expect(page.locator('.element-card').first()).toContainText('Infusionsoft');
});
