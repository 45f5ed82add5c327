// Every public page type in headless Chromium at a phone's width (375 px): no console errors,
// no failed requests, no horizontal overflow. Screenshots go to $SCREENSHOTS if set.
import { BASE, launch, watchedPage, fail } from './lib.mjs';

const PATHS = [
  '/', '/posts', '/posts/heartstopper-season-2-captures',
  '/posts/kit-connor-opens-up-about-coming-out-heartstopper-season-2',
  '/category/interviews', '/tag/heartstopper', '/gallery', '/gallery/latest',
  '/gallery/television-productions/heartstopper/season-2/episode-captures',
  '/albums/s02e06-truth-dare', '/photos/1', '/videos',
  '/videos/kit-connor-joe-locke-react-to-heartstopper-scenes',
  '/search?q=heartstopper', '/subscribe', '/no-such-page',
];

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 375, height: 800 }, deviceScaleFactor: 1 });
let checked = 0;
for (const path of PATHS) {
  const { page, problems } = await watchedPage(context);
  const resp = await page.goto(BASE + path, { waitUntil: 'load' });
  const expected = path === '/no-such-page' ? 404 : 200;
  if (resp.status() !== expected) fail(`${path}: status ${resp.status()}, expected ${expected}`);
  // Scroll through so lazy images load and are checked too.
  await page.evaluate(async () => {
    for (let y = 0; y < document.body.scrollHeight; y += 600) { window.scrollTo(0, y); await new Promise((r) => setTimeout(r, 20)); }
  });
  await page.waitForLoadState('networkidle');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) fail(`${path}: ${overflow}px of horizontal overflow at 375px`);
  const broken = await page.evaluate(() => [...document.images].filter((i) => i.complete && i.naturalWidth === 0).map((i) => i.src));
  if (broken.length) fail(`${path}: broken images ${broken.slice(0, 3).join(', ')}`);
  if (process.env.SCREENSHOTS) {
    const name = path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home';
    await page.screenshot({ path: `${process.env.SCREENSHOTS}/${name}.png`, fullPage: false });
  }
  for (const p of problems) fail(`${path}: ${p}`);
  await page.close();
  checked += 1;
}
await browser.close();
console.log(`public pages: ${checked} checked at 375px${process.exitCode ? ', with failures' : ', all clean'}`);
