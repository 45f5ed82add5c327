// Every public page type in headless Chromium at a phone's width (375 px) and a desktop's
// (1280 px): no console errors, no failed requests, no broken images, no horizontal overflow,
// and the parts that make the site look like a fan archive are there (DOM checks, not pixels).
// Screenshots go to $SCREENSHOTS if set (scripts/browser-tests sets it).
import { BASE, launch, watchedPage, fail } from './lib.mjs';

const SEASON = '/gallery/television-productions/heartstopper/season-2';
const PATHS = [
  '/', '/posts', '/posts/heartstopper-season-2-captures',
  '/posts/kit-connor-opens-up-about-coming-out-heartstopper-season-2',
  '/category/interviews', '/tag/heartstopper', '/gallery', '/gallery/latest', SEASON,
  '/gallery/television-productions/heartstopper/season-2/episode-captures',
  '/albums/s02e06-truth-dare', '/photos/1', '/videos',
  '/videos/kit-connor-joe-locke-react-to-heartstopper-scenes',
  '/search?q=heartstopper', '/search?q=rain', '/subscribe', '/no-such-page', '/posts?page=abc',
];
// Pages that answer with an error status, in the site's layout all the same.
const STATUS = { '/no-such-page': 404, '/posts?page=abc': 400 };
const VIEWPORTS = [
  { name: 'phone', width: 375, height: 800 },
  { name: 'desktop', width: 1280, height: 900 },
];

// What each page must show, checked in the page; each returns a list of problems.
const CHECKS = {
  '/': () => {
    const out = [];
    const cards = document.querySelectorAll('.post-card');
    if (cards.length < 4) out.push(`${cards.length} post cards`);
    if (document.querySelectorAll('.post-card .card-image img').length < 4) out.push('post cards without featured images');
    if (document.querySelectorAll('.latest-additions .thumbs img').length < 3) out.push('no thumbnails of the latest additions');
    if (!document.querySelector('.subscribe-box input[type=email]')) out.push('no subscribe box');
    if (!document.querySelector('.latest-videos .card')) out.push('no video cards');
    if (!document.querySelector('.banner-home img')) out.push('no banner');
    return out;
  },
  '/gallery': () => {
    const out = [];
    if (!document.querySelector('.top-categories .card img')) out.push('no category card with a cover');
    // The tree reads top to bottom: each line below the one before, indented by depth.
    const rows = [...document.querySelectorAll('.tree li')].map((li) => li.getBoundingClientRect());
    for (let i = 1; i < rows.length; i++) {
      if (rows[i].top < rows[i - 1].bottom - 1) out.push(`tree line ${i + 1} is beside line ${i}`);
    }
    return out;
  },
  [SEASON]: () => (document.querySelector('.subcategories .card img') ? [] : ['no subcategory card with a cover']),
};

// Thumbnails and cards are cropped to one ratio, so rows line up.
function sameRatios() {
  const out = [];
  for (const sel of ['.thumbs img', '.cards:not(.video-cards) .card img', '.video-cards .card img']) {
    const ratios = [...document.querySelectorAll(sel)]
      .map((i) => i.getBoundingClientRect())
      .filter((r) => r.width > 0)
      .map((r) => (r.width / r.height).toFixed(2));
    if (new Set(ratios).size > 1) out.push(`${sel} in ${new Set(ratios).size} ratios: ${[...new Set(ratios)].join(', ')}`);
  }
  return out;
}

const browser = await launch();
let checked = 0;
for (const vp of VIEWPORTS) {
  const context = await browser.newContext({ viewport: { width: vp.width, height: vp.height }, deviceScaleFactor: 1 });
  for (const path of PATHS) {
    const { page, problems } = await watchedPage(context);
    const resp = await page.goto(BASE + path, { waitUntil: 'load' });
    const expected = STATUS[path] || 200;
    if (expected !== 200 && !(await page.$('.site-title'))) fail(`${path}: the ${expected} page is not in the site's layout`);
    if (resp.status() !== expected) fail(`${path}: status ${resp.status()}, expected ${expected}`);
    // Scroll through so lazy images load and are checked too.
    await page.evaluate(async () => {
      for (let y = 0; y < document.body.scrollHeight; y += 600) { window.scrollTo(0, y); await new Promise((r) => setTimeout(r, 20)); }
      window.scrollTo(0, 0);
    });
    await page.waitForLoadState('networkidle');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) fail(`${path}: ${overflow}px of horizontal overflow at ${vp.width}px`);
    const broken = await page.evaluate(() => [...document.images].filter((i) => i.complete && i.naturalWidth === 0).map((i) => i.src));
    if (broken.length) fail(`${path}: broken images ${broken.slice(0, 3).join(', ')}`);
    for (const p of await page.evaluate(sameRatios)) fail(`${path} at ${vp.width}px: ${p}`);
    if (CHECKS[path]) for (const p of await page.evaluate(CHECKS[path])) fail(`${path} at ${vp.width}px: ${p}`);
    if (!(await page.locator('.site-title').count())) fail(`${path}: no site title`);
    if (process.env.SCREENSHOTS) {
      const name = path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home';
      await page.screenshot({ path: `${process.env.SCREENSHOTS}/${name}-${vp.name}.png`, fullPage: vp.name === 'desktop' });
    }
    for (const p of problems) fail(`${path}: ${p}`);
    await page.close();
    checked += 1;
  }
  await context.close();
}
// Photo pages follow the arrow keys and a sideways swipe to the neighbouring photos.
{
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, hasTouch: true });
  const { page, problems } = await watchedPage(context);
  await page.goto(`${BASE}/photos/2`, { waitUntil: 'load' });
  const next = await page.getAttribute('.photo-nav a[rel=next]', 'href');
  const prev = await page.getAttribute('.photo-nav a[rel=prev]', 'href');
  await Promise.all([page.waitForURL(`**${next}`), page.keyboard.press('ArrowRight')]);
  await Promise.all([page.waitForURL('**/photos/2'), page.keyboard.press('ArrowLeft')]);
  // Keys typed into a field are the field's.
  await page.goto(`${BASE}/photos/2`, { waitUntil: 'load' });
  await page.evaluate(() => { const i = document.createElement('input'); i.id = 'typing'; document.body.append(i); i.focus(); });
  await page.keyboard.press('ArrowRight');
  await page.waitForTimeout(300);
  if (!page.url().endsWith('/photos/2')) fail(`an arrow key typed into a field left the page for ${page.url()}`);
  // A swipe from right to left is "next", left to right "previous".
  const swipe = (from, to) => page.evaluate(([a, b]) => {
    const fig = document.querySelector('.photo figure');
    const touch = (x) => new Touch({ identifier: 1, target: fig, clientX: x, clientY: 300 });
    fig.dispatchEvent(new TouchEvent('touchstart', { touches: [touch(a)], changedTouches: [touch(a)], bubbles: true }));
    fig.dispatchEvent(new TouchEvent('touchend', { touches: [], changedTouches: [touch(b)], bubbles: true }));
  }, [from, to]);
  await Promise.all([page.waitForURL(`**${prev}`), swipe(200, 500)]);
  for (const p of problems) fail(`photo keys: ${p}`);
  await context.close();
  console.log('photo pages: arrow keys and swipes go to the neighbouring photos');
}
await browser.close();
console.log(`public pages: ${checked} checked at 375px and 1280px${process.exitCode ? ', with failures' : ', all clean'}`);
