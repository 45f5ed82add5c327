// Lighthouse (Debian's Chromium, its default mobile settings) on the home, post, album, photo
// and video pages: every category must score at least 95. Then the Nu HTML checker (vnu.jar)
// on every public page type: no errors. Run by scripts/quality-checks against a demo server;
// reports go to $REPORTS (scripts/quality-checks sets artifacts/quality).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';

const BASE = process.env.KEEPSAKE_URL || 'http://127.0.0.1:8080';
const REPORTS = process.env.REPORTS || 'reports';
const MIN = 95;
const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];
mkdirSync(REPORTS, { recursive: true });

let failed = false;
const fail = (msg) => {
  console.error(`FAIL ${msg}`);
  failed = true;
};

// The pages a reader lands on, one of each kind.
const AUDITED = {
  home: '/',
  post: '/posts/heartstopper-season-2-captures',
  album: '/albums/s02e06-truth-dare',
  photo: '/photos/1',
  video: '/videos/kit-connor-joe-locke-react-to-heartstopper-scenes',
};
// Every public page type, for the HTML checker.
const VALIDATED = [
  ...Object.values(AUDITED),
  '/posts', '/posts/kit-connor-opens-up-about-coming-out-heartstopper-season-2',
  '/category/interviews', '/tag/heartstopper', '/gallery', '/gallery/latest',
  '/gallery/television-productions/heartstopper/season-2',
  '/gallery/television-productions/heartstopper/season-2/episode-captures',
  '/videos', '/search?q=heartstopper', '/search?q=kit', '/subscribe', '/no-such-page',
  '/albums/s02e06-truth-dare?page=2', '/photos/1?size=original',
];

// Lighthouse, one page at a time in a fresh headless Chromium.
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROMIUM || '/usr/bin/chromium',
  chromeFlags: [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const rows = [];
try {
  for (const [name, path] of Object.entries(AUDITED)) {
    const result = await lighthouse(`${BASE}${path}`, {
      port: chrome.port,
      output: 'html',
      logLevel: 'error',
      onlyCategories: CATEGORIES,
    });
    if (!result) {
      fail(`${path}: Lighthouse returned nothing`);
      continue;
    }
    const { lhr, report } = result;
    writeFileSync(join(REPORTS, `lighthouse-${name}.html`), report);
    if (lhr.runtimeError) fail(`${path}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
    const scores = CATEGORIES.map((c) => Math.round((lhr.categories[c]?.score ?? 0) * 100));
    rows.push([name.padEnd(6), ...scores.map((s) => String(s).padStart(15)), `  ${path}`].join(''));
    CATEGORIES.forEach((c, i) => {
      if (scores[i] >= MIN) return;
      // What cost the points, so the failure says what to fix.
      const lost = lhr.categories[c].auditRefs
        .map((r) => lhr.audits[r.id])
        .filter((a) => a && a.score !== null && a.score < 1 && a.scoreDisplayMode !== 'informative')
        .map((a) => `${a.id} (${a.displayValue || a.score})`);
      fail(`${path}: ${c} ${scores[i]} < ${MIN}: ${lost.join(', ')}`);
    });
  }
} finally {
  await chrome.kill();
}
console.log(['page  ', ...CATEGORIES.map((c) => c.padStart(15))].join(''));
for (const r of rows) console.log(r);

// The Nu HTML checker on the pages as served.
const pages = [];
for (const path of VALIDATED) {
  const resp = await fetch(`${BASE}${path}`);
  if (resp.status >= 500) fail(`${path}: HTTP ${resp.status}`);
  const file = join(REPORTS, `page-${pages.length}.html`);
  writeFileSync(file, await resp.text());
  pages.push({ path, file });
}
const vnu = createRequire(import.meta.url)('vnu-jar');
let out;
try {
  out = execFileSync('java', ['-jar', vnu, '--errors-only', '--stdout', '--format', 'json', ...pages.map((p) => p.file)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (e) {
  // vnu exits 1 when it found errors, its report on stdout all the same.
  out = e.stdout || '';
  if (!out) fail(`vnu.jar could not run: ${e.message}`);
}
let messages = [];
try {
  messages = JSON.parse(out || '{"messages":[]}').messages;
} catch {
  fail(`vnu.jar printed no JSON: ${out.slice(0, 300)}`);
}
for (const m of messages) {
  const page = pages.find((p) => m.url && m.url.endsWith(p.file))?.path || m.url;
  fail(`HTML ${page}:${m.lastLine ?? '?'}: ${m.message}`);
}
console.log(`Nu HTML checker: ${pages.length} pages, ${messages.length} errors`);
process.exitCode = failed ? 1 : 0;
