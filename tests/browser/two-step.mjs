// Two-step verification in headless Chromium, as an admin does it: set it up from the account
// page (the QR code renders under the admin's CSP, the key under it is what an app reads), keep
// the recovery codes, log out, log in with password and code, then turn it off again so the
// other checks can log in with the password alone. With SCREENSHOTS=DIR the pages are saved at
// desktop and phone width.
import { createHmac } from 'node:crypto';
import { BASE, launch, watchedPage, fail } from './lib.mjs';

const email = process.env.KEEPSAKE_ADMIN_EMAIL;
const password = process.env.KEEPSAKE_ADMIN_PASSWORD;
if (!email || !password) { fail('no admin credentials from the demo server'); process.exit(1); }

// RFC 4648 base32 and RFC 6238 codes: the authenticator app.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}
function totp(key, offsetSeconds = 0) {
  const counter = Math.floor((Date.now() / 1000 + offsetSeconds) / 30);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1000000).padStart(6, '0');
}

const shots = process.env.SCREENSHOTS;
async function shoot(page, name) {
  if (!shots) return;
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${shots}/${name}-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const { page, problems } = await watchedPage(context);
const csp = [];
page.on('console', (msg) => { if (/Content Security Policy/i.test(msg.text())) csp.push(msg.text()); });

async function login() {
  await page.goto(`${BASE}/admin/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
}

await login();
await page.goto(`${BASE}/admin/account`);
await page.fill('form[action="/admin/account/2fa/setup"] input[name=password]', password);
await page.click('form[action="/admin/account/2fa/setup"] button');
await page.waitForSelector('figure.qr svg');
const box = await page.$eval('figure.qr svg', (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; });
if (box[0] < 150 || box[1] < 150) fail(`the QR code is too small to scan: ${box}`);
const key = base32(await page.textContent('figure.qr code.secret'));
await shoot(page, 'admin-2fa-setup');
await page.fill('#code', totp(key));
await page.click('form[action="/admin/account/2fa/enable"] button');
await page.waitForSelector('ol.recovery-codes code');
const codes = await page.$$eval('ol.recovery-codes code', (els) => els.map((e) => e.textContent));
if (codes.length !== 10) fail(`expected 10 recovery codes, got ${codes.length}`);
await shoot(page, 'admin-2fa-codes');

await page.click('form[action="/admin/logout"] button');
await page.waitForURL('**/admin/login?notice=logged-out');
await login();
if (!page.url().includes('/admin/login/verify')) fail(`expected the second step, got ${page.url()}`);
await shoot(page, 'admin-2fa-verify');
const wrong = totp(key, 30).split('').map((d) => (Number(d) + 5) % 10).join('');
await page.fill('#code', wrong);
await page.click('button[type=submit]');
await page.waitForLoadState();
const error = await page.textContent('.error').catch(() => null);
if (!error || !/not right/.test(error)) fail(`a wrong code gave no message: ${error}`);
await page.fill('#code', totp(key, 30));
await Promise.all([page.waitForURL(/\/admin\/?$/), page.click('button[type=submit]')]);

// Off again, for the checks that log in with the password alone.
await page.goto(`${BASE}/admin/account`);
await shoot(page, 'admin-2fa-on');
await page.fill('#tf-password', password);
await Promise.all([page.waitForURL('**/admin/account?notice=2fa-off'), page.click('button[formaction="/admin/account/2fa/disable"]')]);
await shoot(page, 'admin-2fa-off');

for (const p of problems) fail(`two-step: ${p}`);
for (const c of csp) fail(`two-step: CSP: ${c}`);
await browser.close();
console.log(`two-step: set up, codes, second step, off${process.exitCode ? ' — with failures' : ' — all clean'}`);
