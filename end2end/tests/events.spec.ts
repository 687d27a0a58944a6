// The Events page: a provider's webhook becomes an event, delivered to a receiver on loopback; the page lists it
// with its status, shows the delivered body, filters by status, and Redeliver sends it again with the same id.
import { test, expect } from '@playwright/test';
import * as http from 'node:http';
import { api, baseUrl, signIn, waitForHydration } from '../support/console';
import { listen } from '../support/local-server';

const ELEMENT = 'e2e-crm';

/** A callback endpoint that answers 200 and keeps the event ids it got. */
async function startReceiver(): Promise<{ url: string; ids: string[]; stop: () => Promise<void> }> {
  const ids: string[] = [];
  const server = http.createServer((request, response) => {
    ids.push(String(request.headers['webhook-id']));
    request.resume();
    request.on('end', () => response.writeHead(200).end());
  });
  const listening = await listen(server);
  return { url: `${listening.url}/hook`, ids, stop: listening.stop };
}

test('a webhook event is listed, shown and redelivered', async ({ page }) => {
  const receiver = await startReceiver();
  try {
    const element = {
      key: ELEMENT,
      name: 'E2E CRM',
      hub: 'crm',
      auth: 'custom',
      api: { baseUrl: 'http://127.0.0.1:9/v1', credentials: { in: 'header', name: 'X-Api-Key', value: '{apiKey}' } },
      parameters: [{ key: 'apiKey', label: 'API key', secret: true }],
      events: { support: 'webhooks' },
    };
    expect((await api('POST', '/elements', element)).status).toBe(200);
    const created = await api('POST', '/instances', {
      element: { key: ELEMENT },
      name: 'E2E CRM events',
      configuration: {
        apiKey: 'k',
        'event.notification.enabled': true,
        'event.notification.callback.url': receiver.url,
        'event.notification.signature.key': 'e2e-key',
      },
    });
    const createdBody = await created.text();
    expect(created.status, createdBody).toBe(200);
    const instance = JSON.parse(createdBody).id;
    const hook = await fetch(`${baseUrl()}/elements/api-v2/events/${ELEMENT}/${instance}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ objectType: 'contacts', objectId: 'e2e-42', eventType: 'created' }),
    });
    expect(hook.status).toBe(202);
    await expect.poll(() => receiver.ids.length).toBe(1);

    await signIn(page);
    await expect(page).toHaveURL(`${baseUrl()}/`);
    await page.goto(`${baseUrl()}/events`);
    await waitForHydration(page);
    const row = page.getByTestId('event').filter({ hasText: 'contacts e2e-42' });
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect(row).toHaveAttribute('data-status', 'NOTIFIED', { timeout: 1000 });
    }).toPass();
    await expect(row).toContainText('CREATED');

    await page.getByLabel('Status').selectOption('FAILED');
    await expect(row).toHaveCount(0);
    await page.getByLabel('Status').selectOption('NOTIFIED');
    await expect(row).toHaveCount(1);

    await row.getByRole('button', { name: 'Details' }).click();
    const detail = page.getByRole('region', { name: 'Event' });
    await expect(detail.getByTestId('event-payload')).toContainText('"objectId": "e2e-42"');
    const headers = detail.getByRole('table', { name: 'Headers of the last attempt' });
    await expect(headers.getByRole('row', { name: /^webhook-id / })).toContainText(receiver.ids[0]);
    await expect(headers.getByRole('row', { name: /^elements-webhook-signature / })).toContainText('sha256=');
    await expect(headers.getByRole('row', { name: /^webhook-signature / })).toContainText('v1,');
    await detail.getByRole('button', { name: 'Redeliver' }).click();
    await expect(detail.getByRole('status')).toHaveText('Queued for delivery now');
    await expect.poll(() => receiver.ids.length).toBe(2);
    expect(receiver.ids[1]).toBe(receiver.ids[0]);
  } finally {
    await receiver.stop();
  }
});
