// `make cluster`: three nodes on one PostgreSQL behind nginx. A session opened through the balancer works on every
// node, a user made on one node is seen on another, and stopping the script removes everything it started.
import { test, expect } from '@playwright/test';
import { existsSync } from 'node:fs';
import { signIn, waitForHydration } from '../support/console';
import { RunningCluster, startCluster } from '../support/cluster';

let cluster: RunningCluster;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  cluster = await startCluster(3);
});

test.afterAll(async () => {
  await cluster?.stop();
});

test('three nodes share sessions and data, and stopping removes the cluster', async ({ page }) => {
  expect(cluster.nodes).toHaveLength(3);
  const authorization = `User ${cluster.userSecret}, Organization ${cluster.organizationSecret}`;
  const call = (base: string, path: string, init: RequestInit = {}) =>
    fetch(`${base}/elements/api-v2${path}`, {
      ...init,
      headers: { Authorization: authorization, 'Content-Type': 'application/json' },
    });

  for (let round = 0; round < 6; round++) expect((await call(cluster.baseUrl, '/accounts')).status).toBe(200);

  // A user made through the first node is listed by the third.
  const accounts = await (await call(cluster.nodes[0], '/accounts')).json();
  const made = await call(cluster.nodes[0], `/accounts/${accounts[0].id}/users`, {
    method: 'POST',
    body: JSON.stringify({ emailAddress: 'cluster@example.com' }),
  });
  expect(made.status).toBe(200);
  const listed = await (await call(cluster.nodes[2], `/accounts/${accounts[0].id}/users`)).json();
  expect(listed.map((user: { emailAddress: string }) => user.emailAddress)).toContain('cluster@example.com');

  // Signed in through nginx, the same session cookie opens the console on each node directly.
  await signIn(page, cluster.email, cluster.password, cluster.baseUrl);
  await expect(page).toHaveURL(`${cluster.baseUrl}/`);
  for (const node of cluster.nodes) {
    await page.goto(`${node}/account`);
    await expect(page).toHaveURL(`${node}/account`);
    await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
  }
  await page.goto(`${cluster.baseUrl}/account`);
  await waitForHydration(page);
  await expect(page.locator('[data-testid="user-row"][data-email="cluster@example.com"]')).toBeVisible();

  await cluster.stop();
  expect(existsSync(cluster.workDir)).toBe(false);
  await expect(fetch(`${cluster.baseUrl}/healthz`)).rejects.toThrow();
});
