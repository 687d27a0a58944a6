// Playwright settings for `make bench`'s browser figures (end2end/bench/): one worker, Debian's Chromium.
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testDir: './bench',
  globalSetup: undefined,
  timeout: 300_000,
});
