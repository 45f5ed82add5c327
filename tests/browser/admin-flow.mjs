// The editor's day in headless Chromium: log in, write a post and watch the live preview (an
// album embed drawn as readers see it), choose the featured photo from the gallery,
// schedule it a few seconds ahead, see it appear on the public site with no further action,
// log out. Credentials come from the demo server (scripts/browser-tests).
import { BASE, launch, watchedPage, fail } from './lib.mjs';

const email = process.env.KEEPSAKE_ADMIN_EMAIL;
const password = process.env.KEEPSAKE_ADMIN_PASSWORD;
if (!email || !password) { fail('no admin credentials from the demo server'); process.exit(1); }

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const { page, problems } = await watchedPage(context);

await page.goto(`${BASE}/admin/posts/new`);
if (!page.url().includes('/admin/login')) fail(`expected the login page, got ${page.url()}`);
await page.fill('#email', email);
await page.fill('#password', password);
await Promise.all([page.waitForURL('**/admin/posts/new'), page.click('button[type=submit]')]);

const title = `Scheduled from the browser – “Truth / Dare” & more ${Date.now()}`;
await page.fill('#title', title);
await page.fill('#body', '## Heading\n\nSome *emphasis* and a <script>alert(1)</script> that must not run.');
// The live preview renders through the server's sanitiser.
await page.waitForFunction(() => document.querySelector('#preview em')?.textContent === 'emphasis', null, { timeout: 5000 })
  .catch(() => fail('the live preview did not render the Markdown'));
const previewHtml = await page.innerHTML('#preview');
if (previewHtml.includes('<script')) fail('the preview kept a script element');

// An album embed in the preview is drawn as readers see it (the public renderer).
await page.fill('#body', '## Heading\n\nSome *emphasis*.\n\n[[album:s02e01-out]]\n');
await page.waitForFunction(() => document.querySelector('#preview .embed-album img'), null, { timeout: 5000 })
  .catch(() => fail('the preview did not draw the album embed'));

// The featured photo is chosen from the gallery by its thumbnail, not typed.
await page.click('.picker-open');
await page.waitForSelector('dialog.picker[open] .picker-item', { timeout: 5000 }).catch(() => fail('the picker showed no albums'));
await page.fill('dialog.picker input[type=search]', 'S02E03');
await page.waitForFunction(() => document.querySelectorAll('dialog.picker .picker-item').length === 1, null, { timeout: 5000 })
  .catch(() => fail('searching the picker did not narrow it to one album'));
await page.click('dialog.picker .picker-item');
await page.waitForSelector('dialog.picker .picker-photo', { timeout: 5000 }).catch(() => fail('the album showed no photos'));
const chosen = await page.getAttribute('dialog.picker .picker-photo', 'data-id');
await page.click('dialog.picker .picker-photo');
if ((await page.inputValue('#featured_photo_id')) !== chosen) fail(`the featured photo field holds ${await page.inputValue('#featured_photo_id')}, not ${chosen}`);
if (!(await page.isVisible('img[data-photo-preview]'))) fail('no thumbnail of the chosen photo');
if (await page.isVisible('dialog.picker')) fail('the picker stayed open');
if (process.env.SCREENSHOTS) await page.screenshot({ path: `${process.env.SCREENSHOTS}/admin-post-editor.png`, fullPage: true });

await page.selectOption('#status', 'scheduled');
// Three seconds ahead in the site's time zone (UTC for the demo).
const at = new Date(Date.now() + 3000);
const pad = (n) => String(n).padStart(2, '0');
const local = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}T${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
await page.$eval('#publish_at', (el, v) => { el.value = v; }, local);
await Promise.all([page.waitForURL(/\/admin\/posts\/\d+\/edit\?notice=/), page.click('.side-col button[type=submit]')]);
const notice = await page.textContent('.notice');
if (!/Scheduled/.test(notice || '')) fail(`expected a scheduled notice, got ${notice}`);
const slug = await page.inputValue('#slug');

// Nobody touches anything: the scheduler publishes it.
const reader = await context.newPage();
let status = 0;
for (let i = 0; i < 30 && status !== 200; i += 1) {
  await new Promise((r) => setTimeout(r, 500));
  const resp = await reader.goto(`${BASE}/posts/${slug}`);
  status = resp.status();
}
if (status !== 200) fail(`the scheduled post did not appear (status ${status})`);
else {
  const h1 = await reader.textContent('article h1');
  if (h1 !== title) fail(`public title was ${h1}`);
  if (!(await reader.$('figure.featured img'))) fail('the published post does not show its featured photo');
}

await page.click('form[action="/admin/logout"] button');
await page.waitForURL('**/admin/login?notice=logged-out');
const back = await page.goto(`${BASE}/admin/posts`);
if (!page.url().includes('/admin/login')) fail('after logout the admin was still reachable');

for (const p of problems) fail(`admin: ${p}`);
await browser.close();
console.log(`admin flow: login, preview, schedule, publish, logout${process.exitCode ? ' — with failures' : ' — all clean'}`);
