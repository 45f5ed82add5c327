// The gallery admin's upload queue in headless Chromium: several files go one by one with
// progress, a bad file fails on its own without stopping the others, the album's count and
// grid show the new photos at once, files already there are said to be, and photos reorder by
// keyboard.
import { BASE, launch, watchedPage, fail } from './lib.mjs';

const email = process.env.KEEPSAKE_ADMIN_EMAIL;
const password = process.env.KEEPSAKE_ADMIN_PASSWORD;
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const { page, problems } = await watchedPage(context);

// Real pictures to upload: three different derivatives from the demo's public album.
const album = await context.request.get(`${BASE}/albums/s02e01-out`);
const srcs = [...(await album.text()).matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]).slice(0, 3);
if (srcs.length < 3) fail(`expected demo photos to upload, found ${srcs.length}`);
const files = [];
for (const [i, src] of srcs.entries()) {
  const body = await (await context.request.get(BASE + src)).body();
  files.push({ name: `upload-${i + 1}.jpg`, mimeType: 'image/jpeg', buffer: body });
}
files.splice(1, 0, { name: 'readme.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a picture at all') });

await page.goto(`${BASE}/admin/login`);
await page.fill('#email', email);
await page.fill('#password', password);
await Promise.all([page.waitForURL('**/admin'), page.click('button[type=submit]')]);
await page.goto(`${BASE}/admin/gallery`);
await page.fill('form[action="/admin/albums"] input[name=title]', 'Browser Uploads – “Test” & More');
await Promise.all([page.waitForURL(/\/admin\/albums\/\d+/), page.click('form[action="/admin/albums"] button')]);

if (await page.isVisible('#upload-retry')) fail('"Retry failed" shows before anything failed');
await page.setInputFiles('#upload-files', files);
await page.click('#upload-start');
await page.waitForFunction(() => document.querySelectorAll('#upload-queue li.done, #upload-queue li.failed').length === 4, null, { timeout: 30000 })
  .catch(() => fail('the queue did not finish'));
const summary = await page.textContent('#upload-summary');
if (summary !== '3 of 4 uploaded, 1 failed') fail(`summary was "${summary}"`);
const failed = await page.$$eval('#upload-queue li.failed .state', (els) => els.map((e) => e.textContent));
if (failed.length !== 1 || !/not an image/.test(failed[0])) fail(`failed items: ${JSON.stringify(failed)}`);
if (!(await page.isVisible('#upload-retry'))) fail('no retry button for the failed file');

// The grid and its count show the new photos without a reload.
const live = await page.$$eval('#grid li', (els) => els.length);
if (live !== 3) fail(`before a reload the grid shows ${live} photos`);
if ((await page.textContent('#photo-count')) !== '3') fail(`the count shows ${await page.textContent('#photo-count')}`);

// The same files again: reported as already in the album, not as uploaded.
await page.setInputFiles('#upload-files', files.filter((f) => f.name !== 'readme.jpg'));
await page.click('#upload-start');
await page.waitForFunction(() => document.querySelectorAll('#upload-queue li.done, #upload-queue li.failed').length === 7, null, { timeout: 30000 })
  .catch(() => fail('the second queue did not finish'));
const again = await page.textContent('#upload-summary');
if (again !== '3 of 7 uploaded, 3 already in the album, 1 failed') fail(`second summary was "${again}"`);

await page.reload();
const tiles = await page.$$eval('#grid li', (els) => els.length);
if (tiles !== 3) fail(`grid shows ${tiles} photos`);
const headings = await page.$$eval('main h2', (els) => els.map((e) => e.textContent));
if (!headings.includes('Photos (3)')) fail(`headings were ${JSON.stringify(headings)}`);

// Keyboard reordering: Alt+→ on the first photo moves it to second place, and it stays so.
const before = await page.$$eval('#grid li', (els) => els.map((e) => e.getAttribute('data-id')));
await page.focus('#grid li:first-child input[type=checkbox]');
await page.keyboard.press('Alt+ArrowRight');
await page.waitForFunction(() => /Moved to place 2/.test(document.getElementById('grid-status').textContent), null, { timeout: 10000 })
  .catch(() => fail('no word that the photo moved'));
await page.reload();
const after = await page.$$eval('#grid li', (els) => els.map((e) => e.getAttribute('data-id')));
if (JSON.stringify(after) !== JSON.stringify([before[1], before[0], before[2]])) fail(`order ${JSON.stringify(before)} became ${JSON.stringify(after)}`);

for (const p of problems) {
  // The bad file's 422 is the expected answer, not a page problem.
  if (!/HTTP 422 for .*\/upload$/.test(p)) fail(`gallery: ${p}`);
}
await browser.close();
console.log(`gallery upload: queue, per-file failure, grid${process.exitCode ? ' — with failures' : ' — all clean'}`);
