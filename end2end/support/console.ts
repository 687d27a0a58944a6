// Helpers shared by the console tests: where Tether runs, who signs in, and waiting for hydration.
import { expect, Page } from '@playwright/test';

export const baseUrl = () => process.env.TETHER_BASE_URL!;
export const admin = () => ({ email: process.env.TETHER_ADMIN_EMAIL!, password: process.env.TETHER_ADMIN_PASSWORD! });

/** Waits until the WebAssembly has taken over the page, so clicks and typing are handled. */
export async function waitForHydration(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export async function signIn(
  page: Page,
  email: string = admin().email,
  password: string = admin().password,
  at: string = baseUrl(),
) {
  await page.goto(`${at}/signin`);
  await waitForHydration(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Calls Tether's REST API as the first organization's admin. */
export async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const authorization = `User ${process.env.TETHER_USER_SECRET}, Organization ${process.env.TETHER_ORGANIZATION_SECRET}`;
  return fetch(`${baseUrl()}/elements/api-v2${path}`, {
    method,
    headers: { Authorization: authorization, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
