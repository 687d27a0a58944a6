// `make bench`: how fast the catalog (the page after sign-in) becomes interactive in Chromium, from the start of
// the navigation to the WebAssembly having hydrated it with the grid drawn. Measured on loopback with warm caches,
// then as a first visit (no cache) over a link throttled to 5 Mbit/s with 40 ms latency, counting the bytes that
// crossed it. Each figure is the median of several loads.
import { test, expect, Page, CDPSession } from '@playwright/test';
import { appendFileSync } from 'node:fs';
import { signIn } from '../support/console';
import { startTether } from '../support/tether-server';

const LOADS = 11;
const SLOW_LOADS = 5;
const SLOW_LINK = { offline: false, latency: 40, downloadThroughput: 5_000_000 / 8, uploadThroughput: 5_000_000 / 8 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function report(figure: string, value: string, target: string) {
  console.log(`${figure}: ${value}`);
  if (process.env.TETHER_BENCH_REPORT) {
    appendFileSync(process.env.TETHER_BENCH_REPORT, `${figure}\t${value}\t${target}\tnpx playwright test -c bench.config.ts\n`);
  }
}

/** Loads the catalog and waits until it is interactive; answers the milliseconds it took. */
async function loadCatalog(page: Page, baseUrl: string): Promise<number> {
  const started = performance.now();
  await page.goto(`${baseUrl}/catalog`);
  await page.locator('body[data-hydrated="true"]').waitFor();
  await page.locator('.element-grid li').first().waitFor();
  return performance.now() - started;
}

/** Counts the bytes received over the network (headers and bodies as sent, so compressed) until reset. */
async function countTransfer(cdp: CDPSession): Promise<{ bytes: () => number; reset: () => void }> {
  let bytes = 0;
  cdp.on('Network.loadingFinished', (event) => {
    bytes += event.encodedDataLength;
  });
  await cdp.send('Network.enable');
  return { bytes: () => bytes, reset: () => (bytes = 0) };
}

test('the catalog page becomes interactive', async ({ page }) => {
  const tether = await startTether();
  try {
    await signIn(page, tether.email, tether.password, tether.baseUrl);
    await expect(page).toHaveURL(`${tether.baseUrl}/`);

    const warm: number[] = [];
    for (let load = 0; load <= LOADS; load++) {
      const took = await loadCatalog(page, tether.baseUrl);
      // The first load fills the browser's caches; it is not counted.
      if (load > 0) warm.push(took);
    }
    report(`catalog page interactive in Chromium (loopback, warm cache), median of ${LOADS} loads`,
      `${median(warm).toFixed(0)} ms`, 'at most 500 ms');

    const cdp = await page.context().newCDPSession(page);
    const transfer = await countTransfer(cdp);
    await cdp.send('Network.emulateNetworkConditions', SLOW_LINK);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const firstVisits: number[] = [];
    const firstVisitBytes: number[] = [];
    for (let load = 0; load < SLOW_LOADS; load++) {
      transfer.reset();
      firstVisits.push(await loadCatalog(page, tether.baseUrl));
      firstVisitBytes.push(transfer.bytes());
    }
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await loadCatalog(page, tether.baseUrl);
    const returning: number[] = [];
    const returningBytes: number[] = [];
    for (let load = 0; load < SLOW_LOADS; load++) {
      transfer.reset();
      returning.push(await loadCatalog(page, tether.baseUrl));
      returningBytes.push(transfer.bytes());
    }
    const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
    report('catalog page, first visit: bytes transferred (compressed)', kilobytes(median(firstVisitBytes)),
      'at most 300 KB (2,717 KB before precompression)');
    report(`catalog page interactive, first visit at 5 Mbit/s and 40 ms, median of ${SLOW_LOADS} loads`,
      `${median(firstVisits).toFixed(0)} ms (${firstVisits.map((t) => t.toFixed(0)).join(', ')})`,
      'at most 1,500 ms (4,694 ms before precompression)');
    report(`catalog page interactive, returning visit at 5 Mbit/s and 40 ms, median of ${SLOW_LOADS} loads`,
      `${median(returning).toFixed(0)} ms, ${kilobytes(median(returningBytes))} transferred`, 'none');
  } finally {
    await tether.stop();
  }
});
