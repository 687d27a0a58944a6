// Every main console page, checked by axe (WCAG 2 A and AA rules) for serious or critical violations, and at a
// phone's width (390 px) for sideways scrolling.
import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { api, baseUrl, signIn, waitForHydration } from '../support/console';

const ELEMENT = 'e2e-a11y';
let instanceId: number;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const element = {
    key: ELEMENT,
    name: 'Accessibility check service with a rather long name that must wrap on a phone',
    hub: 'general',
    auth: 'basic',
    api: { baseUrl: 'https://a11y.example.com/api', credentials: { in: 'basic' } },
    parameters: [
      { key: 'username', label: 'User name' },
      { key: 'password', label: 'Password', type: 'password', secret: true },
    ],
  };
  const created = await api('POST', '/elements', element);
  expect(created.status, await created.text()).toBe(200);
  const instance = await api('POST', `/elements/${ELEMENT}/instances`, {
    name: 'An instance whose name is long enough to overflow a narrow screen if nothing wrapped it',
    tags: ['accessibility'],
    configuration: { username: 'ada', password: 'pw' },
  });
  expect(instance.status, await instance.clone().text()).toBe(200);
  instanceId = (await instance.json()).id;
});

const pages = () => [
  { name: 'catalog', path: '/catalog', ready: '.element-grid' },
  { name: 'element', path: `/catalog/${ELEMENT}`, ready: '.element-header' },
  { name: 'instances', path: '/instances', ready: '[data-testid="listing-count"]' },
  { name: 'instance', path: `/instances/${instanceId}`, ready: '[data-testid="instance-facts"]' },
  { name: 'events', path: '/events', ready: 'main h1' },
  { name: 'audit', path: '/audit', ready: 'main h1' },
  { name: 'account', path: '/account', ready: 'main h1' },
];

async function open(page: Page, path: string, ready: string) {
  await page.goto(`${baseUrl()}${path}`);
  await waitForHydration(page);
  await expect(page.locator(ready).first()).toBeVisible();
}

test('no page has a serious or critical accessibility violation', async ({ page }) => {
  await signIn(page);
  await expect(page).not.toHaveURL(/\/signin/);
  const found: string[] = [];
  for (const { name, path, ready } of pages()) {
    await open(page, path, ready);
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    for (const violation of results.violations) {
      if (violation.impact === 'serious' || violation.impact === 'critical') {
        const where = violation.nodes.map((node) => node.target.join(' ')).join('; ');
        found.push(`${name}: ${violation.id} (${violation.impact}) at ${where}`);
      }
    }
  }
  expect(found).toEqual([]);
});

test('no page scrolls sideways at 390 px', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page);
  await expect(page).not.toHaveURL(/\/signin/);
  const wide: string[] = [];
  for (const { name, path, ready } of pages()) {
    await open(page, path, ready);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 390) wide.push(`${name}: ${width} px`);
  }
  expect(wide).toEqual([]);
});
