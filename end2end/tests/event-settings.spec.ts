// The events fields of the Authenticate and Edit forms: a user turns events on with the switch, sets the poll
// interval with the slider, picks resources with checkboxes (the JSON editor follows, and the checkboxes follow
// the editor), and saves. The instance then polls a provider API on loopback, and its events reach a receiver
// signed with the key typed in the form; the Events page lists them and redelivers one. The Edit form shows the
// saved choice, and saving it there with another resource adds that resource.
import { test, expect, Page } from '@playwright/test';
import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import { api, baseUrl, signIn, waitForHydration } from '../support/console';
import { listen } from '../support/local-server';

const ELEMENT = 'e2e-polled-crm';
const SIGNING_KEY = 'e2e-signing-key';
const DATE_PATTERN = "yyyy-MM-dd'T'HH:mm:ss'Z'";
type Kind = 'contacts' | 'companies';

/** A provider API whose contacts and companies carry created and updated dates, to second precision. */
async function startCrm() {
  const objects: Record<Kind, Array<Record<string, string>>> = { contacts: [], companies: [] };
  const server = http.createServer((request, response) => {
    const kind = new URL(request.url ?? '/', 'http://crm').pathname.replace('/v1/', '') as Kind;
    if (request.headers['x-api-key'] !== 'k' || !(kind in objects)) {
      response.writeHead(request.headers['x-api-key'] !== 'k' ? 401 : 404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ [kind]: objects[kind] }));
  });
  const listening = await listen(server);
  return {
    ...listening,
    add(kind: Kind, id: string) {
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      objects[kind].push({ id, name: `${kind} ${id}`, created: now, updated: now });
    },
  };
}

interface Delivery {
  id: string;
  signatureValid: boolean;
  events: Array<{ objectType: string; objectId: string; eventType: string }>;
}

/** A callback endpoint that answers 200 and keeps what it got, checking the Elements signature. */
async function startReceiver() {
  const deliveries: Delivery[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const expected = `sha256=${createHmac('sha256', SIGNING_KEY).update(body).digest('base64')}`;
      deliveries.push({
        id: String(request.headers['webhook-id']),
        signatureValid: request.headers['elements-webhook-signature'] === expected,
        events: JSON.parse(body.toString()).events,
      });
      response.writeHead(200).end();
    });
  });
  const listening = await listen(server);
  return { ...listening, deliveries };
}

const resource = (url: string) => ({
  url,
  idField: 'id',
  datesConfiguration: {
    updatedDateField: 'updated',
    updatedDateFormat: DATE_PATTERN,
    updatedDateTimezone: 'GMT',
    createdDateField: 'created',
    createdDateFormat: DATE_PATTERN,
    createdDateTimezone: 'GMT',
  },
});

async function editorResources(page: Page): Promise<string[]> {
  return Object.keys(JSON.parse(await page.getByLabel('Poller configuration (JSON)').inputValue())).sort();
}

test('events set up with the switch, slider and checkboxes are polled, delivered, listed and redelivered', async ({
  page,
}) => {
  const crm = await startCrm();
  const receiver = await startReceiver();
  try {
    const element = {
      key: ELEMENT,
      name: 'E2E polled CRM',
      hub: 'crm',
      auth: 'custom',
      api: { baseUrl: `${crm.url}/v1`, credentials: { in: 'header', name: 'X-Api-Key', value: '{apiKey}' } },
      parameters: [{ key: 'apiKey', label: 'API key', secret: true }],
      events: {
        support: 'polling',
        poller: {
          contacts: resource(`/hubs/crm/contacts?since=\${gmtDate:${DATE_PATTERN}}`),
          companies: resource('/hubs/crm/companies'),
        },
      },
    };
    expect((await api('POST', '/elements', element)).status).toBe(200);

    await signIn(page);
    await expect(page).toHaveURL(`${baseUrl()}/`);
    await page.goto(`${baseUrl()}/catalog/${ELEMENT}`);
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Authenticate' }).click();
    await page.getByLabel('Name').fill('E2E polled');
    await page.getByLabel('API key').fill('k');
    await page.getByText('Show optional fields').click();

    // The switch, then the problem it raises until a callback URL is given: checked as the user types.
    await page.getByRole('switch', { name: 'Events enabled' }).check();
    await expect(page.getByTestId('events-problem')).toContainText('event.notification.callback.url');
    await page.getByLabel('Callback URL').fill(`${receiver.url}/hook`);
    await page.getByLabel('Signature key').fill(SIGNING_KEY);
    await expect(page.getByTestId('events-problem')).toHaveCount(0);

    // The slider moves in stops; its lowest is this deployment's shortest interval, 3 seconds.
    const slider = page.getByLabel('Refresh interval');
    await expect(page.getByTestId('interval-label')).toHaveText('every 15 minutes');
    await slider.focus();
    await slider.press('ArrowRight');
    await expect(page.getByTestId('interval-label')).toHaveText('every 30 minutes');
    await expect(page.getByLabel('Minutes')).toHaveValue('30');
    await slider.press('Home');
    await expect(page.getByTestId('interval-label')).toHaveText('every 3 seconds');
    await expect(page.getByLabel('Minutes')).toHaveValue('0.05');

    // The checkboxes write the JSON editor...
    const companies = page.getByRole('checkbox', { name: 'companies' });
    const contacts = page.getByRole('checkbox', { name: 'contacts' });
    await expect(companies).toBeChecked();
    await expect(contacts).toBeChecked();
    await page.getByText('Advanced').click();
    expect(await editorResources(page)).toEqual(['companies', 'contacts']);
    await companies.uncheck();
    expect(await editorResources(page)).toEqual(['contacts']);
    // ...and the editor, checked as it is typed, moves the checkboxes.
    const editor = page.getByLabel('Poller configuration (JSON)');
    const chosen = await editor.inputValue();
    await editor.fill('{"contacts": ');
    await expect(page.getByTestId('poller-problem')).toContainText('event.poller.configuration');
    await expect(contacts).toBeDisabled();
    await editor.fill('{}');
    await expect(contacts).not.toBeChecked();
    await editor.fill(chosen);
    await expect(page.getByTestId('poller-problem')).toHaveCount(0);
    await expect(contacts).toBeChecked();
    await expect(companies).not.toBeChecked();
    await expect(page.getByTestId('events-problem')).toHaveCount(0);

    await page.getByRole('button', { name: 'Authenticate', exact: true }).click();
    await expect(page).toHaveURL(/\/instances\?instance=\d+$/);
    const instance = Number(new URL(page.url()).searchParams.get('instance'));
    const saved = await (await api('GET', `/instances/${instance}`)).json();
    expect(saved.eventsEnabled).toBe(true);
    expect(saved.configuration['event.poller.refresh_interval']).toBe('0.05');
    expect(saved.configuration['event.notification.signature.key']).toBe('********');

    // Both change; only the chosen resource is polled.
    crm.add('contacts', 'c-1');
    crm.add('companies', 'co-1');
    await expect.poll(() => receiver.deliveries.length, { timeout: 30_000 }).toBeGreaterThan(0);
    const first = receiver.deliveries[0];
    expect(first.signatureValid).toBe(true);
    expect(first.events).toMatchObject([{ objectType: 'contacts', objectId: 'c-1', eventType: 'CREATED' }]);
    // The poll that found the contact also asked for nothing else: the log holds that one event.
    const log = await (await api('GET', `/instances/${instance}/events`)).json();
    expect(log.map((event: { change: { objectType: string } }) => event.change.objectType)).toEqual(['contacts']);

    // The Events page lists it; Redeliver sends it again with the same id.
    await page.goto(`${baseUrl()}/events`);
    await waitForHydration(page);
    const row = page.getByTestId('event').filter({ hasText: 'contacts c-1' });
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect(row).toHaveAttribute('data-status', 'NOTIFIED', { timeout: 1000 });
    }).toPass();
    await row.getByRole('button', { name: 'Details' }).click();
    await page.getByRole('region', { name: 'Event' }).getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => receiver.deliveries.filter((delivery) => delivery.id === first.id).length).toBe(2);

    // The Edit form starts from the saved choice, and saving it with companies checked adds them to the poller.
    await page.goto(`${baseUrl()}/instances?instance=${instance}`);
    await waitForHydration(page);
    const card = page.locator(`[data-instance-id="${instance}"]`);
    await expect(card).toContainText('events on');
    await card.getByRole('button', { name: 'Edit' }).click();
    await expect(card.getByRole('switch', { name: 'Events enabled' })).toBeChecked();
    await expect(card.getByLabel('Callback URL')).toHaveValue(`${receiver.url}/hook`);
    await expect(card.getByLabel('Minutes')).toHaveValue('0.05');
    await expect(card.getByLabel('Signature key')).toHaveAttribute('placeholder', 'Set; leave empty to keep it');
    await expect(card.getByRole('checkbox', { name: 'companies' })).not.toBeChecked();
    await card.getByRole('checkbox', { name: 'companies' }).check();
    await card.getByRole('button', { name: 'Update' }).click();
    await expect(card.getByRole('button', { name: 'Update' })).toHaveCount(0);
    const edited = await (await api('GET', `/instances/${instance}`)).json();
    expect(Object.keys(JSON.parse(edited.configuration['event.poller.configuration'])).sort()).toEqual([
      'companies',
      'contacts',
    ]);
    expect(edited.configuration['event.notification.signature.key']).toBe('********');
    // And the poller now follows companies: a new one arrives, signed with the kept key.
    crm.add('companies', 'co-2');
    await expect
      .poll(
        () =>
          receiver.deliveries.some(
            (delivery) => delivery.signatureValid && delivery.events.some((change) => change.objectId === 'co-2'),
          ),
        { timeout: 50_000 },
      )
      .toBe(true);
  } finally {
    await receiver.stop();
    await crm.stop();
  }
});
