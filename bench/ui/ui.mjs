// ui.mjs - times the web UI in Debian's chromium (playwright-core), cold:
// from opening vdcd's address to the sign-in form, and on to a usable
// inventory (the first VM of the tree listed) after a token sign-in; and
// what that first load transferred (compressed). Run by bench/ui/ui.sh,
// which starts vdcd on a seeded store and sets the VDC_* variables. Prints
// "figure NAME VALUE UNIT" lines; progress on stderr. ui_first_load_ms is
// the UI's part, timed in the page: navigation to the sign-in form drawn,
// plus the submit to the inventory's first VM drawn; the robot's typing in
// between is left out (ui_first_load_wall_ms keeps it, as measured before).
//
// Then the VM list (/vms): signed in, from the click on "VMs" to every VM
// of the store listed (VDC_UI_VMS of them) and the first screen of rows
// drawn (the next animation frame after), timed in the page; and a
// programmatic scroll through it, one step a frame, counting the frames
// that came more than 20 ms after the one before (dropped), beside the
// same count for as many frames of the page left idle (what the machine
// drops anyway).
import { createRequire } from 'node:module';
import fs from 'node:fs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + ' is not set'); return v; };
const require = createRequire(env('VDC_UI_MODULES') + '/');
const { chromium } = require('playwright-core');
const URL0 = env('VDC_UI_URL');
const TOKEN = env('VDC_ADMIN_TOKEN');
const RUNS = Number(process.env.VDC_UI_RUNS || 5);
const VMS = Number(process.env.VDC_UI_VMS || 10000);
const say = (s) => process.stderr.write('ui: ' + s + '\n');
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[(s.length - 1) >> 1] : NaN; };

async function browser(profile) {
  fs.rmSync(profile, { recursive: true, force: true });
  return chromium.launchPersistentContext(profile, {
    executablePath: env('VDC_CHROMIUM'), headless: true, viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--ignore-certificate-errors-spki-list=' + env('VDC_UI_SPKI')],
  });
}

// One cold walk: a fresh profile (no cache), sign-in page, token, tree.
async function walk(i) {
  const profile = env('VDC_UI_PROFILE') + '-' + i;
  const ctx = await browser(profile);
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // In-page times (ms from navigation start): the form drawn, the
    // submit, the first VM of the tree drawn.
    await page.addInitScript(() => {
      const m = (window.__ui = {});
      const mark = (k) => { if (!(k in m)) m[k] = performance.now(); };
      document.addEventListener('submit', () => mark('submit'), true);
      new MutationObserver(() => {
        if (document.querySelector('input[name="mode"]')) mark('form');
        if (document.querySelector('[data-testid="tree-vms"] li a')) mark('tree');
      }).observe(document, { subtree: true, childList: true });
    });
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
    const m = await page.evaluate(() => window.__ui);
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    // The UI's time: to the form, then from the submit to the tree. The
    // robot's typing between them (Playwright's check, fill and click with
    // their actionability waits: 0.5 to 2 s on a busy machine) is not.
    const ui = m.form + (m.tree - m.submit);
    return { tForm, tTree, kb, ui, robot: m.submit - m.form, form: m.form, after: m.tree - m.submit };
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const forms = [], trees = [], kbs = [], uis = [];
await walk('warm'); // chromium's own first start (its files into the page cache) is not the UI's
for (let i = 0; i < RUNS; i++) {
  const r = await walk(i);
  say(`run ${i + 1}: sign-in form ${r.tForm} ms (drawn at ${r.form.toFixed(0)} ms in the page), typing ${r.robot.toFixed(0)} ms, ` +
    `submit to inventory ${r.after.toFixed(0)} ms; UI ${r.ui.toFixed(0)} ms, wall ${r.tTree} ms, ${r.kb.toFixed(1)} KB`);
  forms.push(r.tForm); trees.push(r.tTree); kbs.push(r.kb); uis.push(r.ui);
}
console.log(`figure ui_signin_page_ms ${median(forms)} ms`);
console.log(`figure ui_first_load_ms ${median(uis).toFixed(0)} ms`);
console.log(`figure ui_first_load_wall_ms ${median(trees)} ms`);
console.log(`figure ui_first_load_kb ${median(kbs).toFixed(1)} KB`);

// The VM list: one browser, signed in once; each run opens the inventory,
// then clicks "VMs" and waits in the page for all rows and a drawn frame.
async function listWalk() {
  const profile = env('VDC_UI_PROFILE') + '-list';
  const ctx = await browser(profile);
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(URL0 + '/', { waitUntil: 'commit' });
    await page.locator('input[name="mode"][value="token"]').check();
    await page.fill('#token', TOKEN);
    await page.click('button[type="submit"]');
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      await page.goto(URL0 + '/');
      await page.locator('nav a[href="/vms"]').waitFor({ timeout: 30000 });
      const { ms, t0 } = await page.evaluate((n) => new Promise((done, fail) => {
        const t0 = performance.now();
        document.querySelector('nav a[href="/vms"]').click();
        const give = setTimeout(() => fail(new Error('the list did not show ' + n + ' VMs within 60 s')), 60000);
        const tick = () => {
          const el = document.querySelector('[data-testid=vm-list]');
          if (el && Number(el.dataset.count) >= n && el.querySelector('tr.vrow')) {
            // Rendered: the frame after this one has painted it.
            requestAnimationFrame(() => { clearTimeout(give); done({ ms: performance.now() - t0, t0 }); });
          } else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }), VMS);
      const rows = await page.locator('[data-testid=vm-list] tr.vrow').count();
      // Where it went: the list's requests (sent, first byte, last byte),
      // relative to the click.
      const net = await page.evaluate((t0) => {
        const last = performance.getEntriesByType('resource')
          .filter((e) => e.name.includes('/api/v1/vms?') && e.name.includes('fields=') && e.startTime >= t0);
        return last.map((e) => `request ${(e.startTime - t0).toFixed(0)}, first byte ${(e.responseStart - t0).toFixed(0)}, ` +
          `last ${(e.responseEnd - t0).toFixed(0)} ms (${(e.encodedBodySize / 1024).toFixed(0)} KB)`).join('; ');
      }, t0);
      say(`list run ${i + 1}: ${VMS} VMs listed and drawn in ${ms.toFixed(0)} ms (${rows} rows in the DOM); ${net}`);
      times.push(ms);
    }
    // Frames while scrolling the whole list a step a frame, and idle.
    const frames = (scroll) => page.evaluate((sc) => new Promise((done) => {
      const el = document.querySelector('[data-testid=vm-list]');
      el.scrollTop = 0;
      const gaps = [];
      let last = null, n = 0;
      const step = (ts) => {
        if (last !== null) gaps.push(ts - last);
        last = ts;
        n++;
        if (sc) el.scrollTop += 240; // some 14,000 px a second: a fast fling
        if (n < 600 && (!sc || el.scrollTop + el.clientHeight < el.scrollHeight)) requestAnimationFrame(step);
        else done({ frames: gaps.length, dropped: gaps.filter((g) => g > 20).length, worst: Math.max(...gaps),
          at: gaps.flatMap((g, i) => (g > 20 ? [i] : [])).slice(0, 10),
          rows: el.querySelectorAll('tr.vrow').length, top: el.scrollTop });
      };
      requestAnimationFrame(step);
    }), scroll);
    const idle = await frames(false);
    const sc = await frames(true);
    say(`scroll: ${sc.frames} frames to ${sc.top} px, ${sc.dropped} over 20 ms (worst ${sc.worst.toFixed(1)} ms${sc.dropped ? ', frames ' + sc.at.join(' ') : ''}), ${sc.rows} rows in the DOM; idle: ${idle.dropped} of ${idle.frames} over 20 ms (worst ${idle.worst.toFixed(1)} ms)`);
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    return { times, sc, idle };
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const list = await listWalk();
console.log(`figure ui_list_10k_ms ${median(list.times).toFixed(0)} ms`);
console.log(`figure ui_list_scroll_dropped_frames ${list.sc.dropped} frames`);
console.log(`figure ui_list_scroll_frames ${list.sc.frames} frames`);
console.log(`figure ui_idle_dropped_frames ${list.idle.dropped} frames`);
