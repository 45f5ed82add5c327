// Shared helpers for the browser checks: launching Debian's Chromium headless the way this
// machine needs (no background networking), and collecting console errors per page.
import { chromium } from 'playwright-core';

export const BASE = process.env.KEEPSAKE_URL || 'http://127.0.0.1:8080';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

// Opens a page that records console errors, uncaught exceptions and failed same-site requests.
export async function watchedPage(context) {
  const page = await context.newPage();
  const problems = [];
  // Failed loads are reported below, per request, so the page's own 404 is not a problem.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`exception: ${err.message}`));
  page.on('response', (resp) => {
    const url = resp.url();
    if (url.startsWith(BASE) && resp.status() >= 400 && !resp.request().isNavigationRequest()) {
      problems.push(`HTTP ${resp.status()} for ${url}`);
    }
  });
  return { page, problems };
}

export function fail(msg) {
  console.error(`FAIL ${msg}`);
  process.exitCode = 1;
}
