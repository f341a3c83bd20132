// ui.mjs - times the web UI in Debian's chromium (playwright-core), cold:
// from opening vdcd's address to the sign-in form, and on to a usable
// inventory (the first VM of the tree listed) after a token sign-in; and
// what that first load transferred (compressed). Run by bench/ui/ui.sh,
// which starts vdcd on a seeded store and sets the VDC_* variables. Prints
// "figure NAME VALUE UNIT" lines; progress on stderr.
import { createRequire } from 'node:module';
import fs from 'node:fs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + ' is not set'); return v; };
const require = createRequire(env('VDC_UI_MODULES') + '/');
const { chromium } = require('playwright-core');
const URL0 = env('VDC_UI_URL');
const TOKEN = env('VDC_ADMIN_TOKEN');
const RUNS = Number(process.env.VDC_UI_RUNS || 5);
const say = (s) => process.stderr.write('ui: ' + s + '\n');
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[(s.length - 1) >> 1] : NaN; };

// One cold walk: a fresh profile (no cache), sign-in page, token, tree.
async function walk(i) {
  const profile = env('VDC_UI_PROFILE') + '-' + i;
  fs.rmSync(profile, { recursive: true, force: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env('VDC_CHROMIUM'), headless: true, viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const t0 = Date.now();
    await page.goto(URL0 + '/', { waitUntil: 'commit' });
    await page.locator('input[name="mode"][value="token"]').waitFor();
    const tForm = Date.now() - t0;
    await page.locator('input[name="mode"][value="token"]').check();
    await page.fill('#token', TOKEN);
    await page.click('button[type="submit"]');
    await page.locator('[data-testid="tree-vms"] li a').first().waitFor({ timeout: 30000 });
    const tTree = Date.now() - t0;
    // What came over the wire for it, compressed: the document and every
    // script and style sheet (API answers are data, not code).
    const kb = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      let bytes = nav ? nav.encodedBodySize : 0;
      for (const r of performance.getEntriesByType('resource'))
        if (!r.name.includes('/api/')) bytes += r.encodedBodySize;
      return bytes / 1024;
    });
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    return { tForm, tTree, kb };
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const forms = [], trees = [], kbs = [];
await walk('warm'); // chromium's own first start (its files into the page cache) is not the UI's
for (let i = 0; i < RUNS; i++) {
  const r = await walk(i);
  say(`run ${i + 1}: sign-in form ${r.tForm} ms, inventory usable ${r.tTree} ms, ${r.kb.toFixed(1)} KB`);
  forms.push(r.tForm); trees.push(r.tTree); kbs.push(r.kb);
}
console.log(`figure ui_signin_page_ms ${median(forms)} ms`);
console.log(`figure ui_first_load_ms ${median(trees)} ms`);
console.log(`figure ui_first_load_kb ${median(kbs).toFixed(1)} KB`);
