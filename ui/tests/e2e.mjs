// e2e.mjs - the web UI walked in Debian's chromium through playwright-core
// (run by tests/integration/t_ui.sh, which starts vdcd and an agent and
// sets the VDC_* variables). Prints "ok - ..." / "not ok - ..." lines.
// Every page is checked by axe-core (no serious or critical violation)
// and for console errors; screenshots go to VDC_UI_SHOTS.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { liveWalk } from './e2e_live.mjs';
import { dryRunVerdict, placementFacts, lastExitStopped } from './e2e_vm_facts.mjs';
import { vmListWalk } from './e2e_vm_list.mjs';
import { clustersAdminWalk, clustersViewerWalk } from './e2e_clusters.mjs';
import { poolsWalk } from './e2e_pools.mjs';
import { migrateWalk } from './e2e_migrate.mjs';
import { consoleWalk, consoleRefusals } from './consoles.mjs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + ' is not set'); return v; };
const require = createRequire(env('VDC_UI_MODULES') + '/');
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const URL0 = env('VDC_UI_URL');
const SHOTS = env('VDC_UI_SHOTS');
const ADMIN = env('VDC_ADMIN_TOKEN');
const NAME = 't_ui';
let failures = 0;

const ok = (d) => console.log(`ok - ${NAME}: ${d}`);
const notOk = (d, why) => { failures++; console.log(`not ok - ${NAME}: ${d}`); if (why) console.log('# ' + String(why).split('\n').slice(0, 6).join('\n# ')); };
async function check(desc, fn) {
  try { await fn(); ok(desc); return true; } catch (e) { notOk(desc, e && e.message); return false; }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
const H = { check, assert, apiAs: (...a) => apiAs(...a), ADMIN, axe: (...a) => axe(...a), shot: (...a) => shot(...a) };

async function apiAs(token, method, p, body) {
  const res = await fetch(URL0 + p, {
    method,
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: res.status, data };
}

// A browser of its own (a fresh profile) per walk, as the brief for the
// test machines asks: Debian's chromium, headless, nothing phoning home.
async function open(label, viewport, mobile) {
  const profile = env('VDC_UI_PROFILE') + '-' + label;
  fs.rmSync(profile, { recursive: true, force: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env('VDC_CHROMIUM'),
    headless: true,
    viewport,
    isMobile: !!mobile,
    hasTouch: !!mobile,
    deviceScaleFactor: mobile ? 2 : 1,
    locale: 'en-US',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--ignore-certificate-errors-spki-list=' + env('VDC_UI_SPKI')],
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const walk = { ctx, page, label, errors: [], allow401: false };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (walk.allow401 && /status of 401/.test(m.text())) return;
    if (walk.allowStatus && walk.allowStatus.test(m.text())) return;
    // Chromium drops requests in flight when this machine's interfaces
    // change: another test beside this one making its namespaces and
    // bridges. The machine's doing, not the page's; the walk's own checks
    // still fail if the page did not recover.
    if (/net::ERR_NETWORK_CHANGED/.test(m.text())) {
      console.log('# ' + walk.label + ': a request dropped by an interface change on this machine');
      return;
    }
    walk.errors.push(page.url() + ': ' + m.text());
  });
  page.on('pageerror', (e) => walk.errors.push(page.url() + ': ' + e.message));
  // Chromium's console line for a CSP refusal does not say what did it:
  // the page's own event does (the file and line, and the refused text).
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP ${e.effectiveDirective} refused ${e.blockedURI || 'inline'} from ${e.sourceFile || '?'}:${e.lineNumber}:${e.columnNumber} "${e.sample || ''}"`);
    });
  });
  return walk;
}

// axe-core's serious and critical findings on the page as it is now.
async function axe(walk, what) {
  const { page } = walk;
  await check(`${walk.label}: ${what} has no serious accessibility violation (axe-core)`, async () => {
    await page.evaluate(axeSource);
    const found = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
    });
    assert(found.length === 0, found.join('\n'));
  });
}

async function shot(walk, name) {
  await walk.page.screenshot({ path: path.join(SHOTS, `${walk.label}-${name}.png`), fullPage: true });
}

async function signInPassword(walk, user, password) {
  const { page } = walk;
  await page.goto(URL0 + '/');
  await page.waitForSelector('#user');
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:has-text("Inventory")', { timeout: 20000 });
}

async function nav(walk, label) {
  const { page } = walk;
  const menu = page.locator('.menu-button');
  if (await menu.isVisible()) await menu.click();
  await page.click(`nav a:has-text("${label}")`);
}

// Create a VM through the form, see it running, stop it, delete it.
async function vmWalk(walk, name) {
  const { page } = walk;
  await check(`${walk.label}: the inventory tree lists clusters and VMs`, async () => {
    await page.waitForSelector('[data-testid=tree-vms] a:has-text("bulk-1")', { timeout: 10000 });
    await page.waitForSelector('[data-testid=tree-clusters] :text("c1")');
  });
  await shot(walk, 'inventory');
  await axe(walk, 'the inventory');
  await check(`${walk.label}: the search finds a VM by the start of its name`, async () => {
    await page.fill('#search', 'bulk-2');
    await page.waitForSelector('.search-results a:has-text("bulk-20")', { timeout: 10000 });
    assert(await page.locator('.search-results a:has-text("bulk-19")').count() === 0, 'bulk-19 does not start with bulk-2');
    await shot(walk, 'search');
    await page.press('#search', 'Escape');
  });
  await nav(walk, 'Create VM');
  await page.waitForSelector('#vm-name');
  await axe(walk, 'the create page');
  let created = await check(`${walk.label}: a VM is created from a template, placement's verdict shown`, async () => {
    await page.fill('#vm-name', name);
    await page.selectOption('#vm-project', { label: 'dev' });
    await dryRunVerdict(walk, name, 'h1', H);
    await page.click('[data-testid=create-submit]');
    await page.waitForSelector('[data-testid=placement]:has-text("h1")', { timeout: 30000 });
    await page.waitForSelector(`.notice:has-text("${name} is created")`, { timeout: 180000 });
  });
  await shot(walk, 'created');
  if (!created) return;
  await page.click('[data-testid=created-link]');
  await check(`${walk.label}: the VM's page shows it running`, async () => {
    await page.waitForSelector('[data-testid=power-state]:has-text("running")', { timeout: 60000 });
  });
  await shot(walk, 'vm-running');
  await placementFacts(walk, H);
  // The walk's guest (the tiny template's 64 MiB) never gets to run
  // qemu-ga: the section says so (t_guest_agent checks a guest that does).
  await check(`${walk.label}: the VM page's Guest section says no guest agent answers`, async () => {
    await page.waitForSelector('[data-testid=guest] h2:has-text("Guest")', { timeout: 10000 });
    await page.waitForSelector('[data-testid=guest-agent]:has-text("No")', { timeout: 10000 });
  });
  await axe(walk, 'the VM page');
  await check(`${walk.label}: stop makes it stopped`, async () => {
    await page.click('[data-testid=power-stop]');
    await page.waitForSelector('[data-testid=power-state]:has-text("stopped")', { timeout: 150000 });
    await page.waitForSelector('.notice:has-text("Stop: done")', { timeout: 150000 });
  });
  await lastExitStopped(walk, H);
  await check(`${walk.label}: a snapshot is taken and listed`, async () => {
    await page.fill('#snap-name', 's1');
    await page.click('button[type=submit]:has-text("Take snapshot")');
    await page.waitForSelector('.notice:has-text("Take snapshot: done")', { timeout: 120000 });
    await page.waitForSelector('td:has-text("s1")', { timeout: 10000 });
  });
  await check(`${walk.label}: a resize to 2 vCPUs shows in the summary`, async () => {
    await page.fill('#rs-vcpus', '2');
    await page.click('button[type=submit]:has-text("Resize")');
    await page.waitForSelector('.notice:has-text("Resize: done")', { timeout: 120000 });
    await page.waitForSelector('dd:has-text("2 vCPU")', { timeout: 10000 });
  });
  await check(`${walk.label}: the VM page shows its firmware; a resize makes it UEFI`, async () => {
    await page.waitForSelector('[data-testid=firmware]:has-text("BIOS")', { timeout: 10000 });
    await page.selectOption('#rs-firmware', 'uefi');
    await page.click('button[type=submit]:has-text("Resize")');
    await page.waitForSelector('[data-testid=firmware]:has-text("UEFI")', { timeout: 120000 });
  });
  await check(`${walk.label}: the VM page shows its CD-ROM; an ISO is inserted (adding a drive), ejected, the drive removed`, async () => {
    await page.waitForSelector('[data-testid=cdrom]:has-text("No drive")', { timeout: 10000 });
    await page.selectOption('#cd-iso', 'ui-iso');
    await page.click('[data-testid=cdrom-insert]');
    await page.waitForSelector('[data-testid=cdrom]:has-text("ui-iso")', { timeout: 120000 });
    await page.click('[data-testid=cdrom-eject]');
    await page.waitForSelector('[data-testid=cdrom]:has-text("Empty drive")', { timeout: 120000 });
    await page.click('[data-testid=cdrom-remove]');
    await page.waitForSelector('[data-testid=cdrom]:has-text("No drive")', { timeout: 120000 });
  });
  await check(`${walk.label}: the hardware section adds a disk to the stopped VM, shows it, and removes it`, async () => {
    await page.fill('[data-testid=hw-disk-name]', 'extra');
    await page.fill('[data-testid=hw-disk-size]', '16');
    await page.click('[data-testid=hw-disk-add]');
    await page.waitForSelector('[data-testid=hw-result]:has-text("Done")', { timeout: 120000 });
    await page.waitForSelector('[data-testid=hw-disk-state-extra]:has-text("attached")', { timeout: 10000 });
    await page.check('[data-testid=hw-delete-file]');
    await page.click('[data-testid=hw-disk-remove-extra]');
    await page.waitForSelector('[data-testid=hw-disk-extra]', { state: 'detached', timeout: 120000 });
  });
  await shot(walk, 'vm-stopped');
  await axe(walk, 'the stopped VM page with a snapshot');
  await check(`${walk.label}: delete asks first, then deletes`, async () => {
    await page.click('[data-testid=delete]');
    await page.waitForSelector('dialog[open]');
    await shot(walk, 'delete-confirm');
    await axe(walk, 'the delete confirmation');
    await page.click('dialog[open] [data-testid=confirm]');
    await page.waitForURL(URL0 + '/', { timeout: 120000 });
    const r = await apiAs(ADMIN, 'GET', '/api/v1/vms/' + name + '?project=dev');
    assert(r.status === 404, `the VM is still there (${r.status})`);
  });
}

async function noErrors(walk) {
  await check(`${walk.label}: no console errors on any page`, async () => {
    assert(walk.errors.length === 0, walk.errors.join('\n'));
  });
}

// What the consoles' steps (consoles.mjs) use of this walk.
const helpers = () => ({ check, assert, shot, axe, apiAs, URL0, env });

async function main() {
  // --- desktop: the operator's walk, the admin's pages, a revoked token ---
  const desk = await open('desktop', { width: 1280, height: 800 });
  const { page } = desk;
  await check('desktop: an unsigned visitor lands on the sign-in page', async () => {
    await page.goto(URL0 + '/vms/anything');
    await page.waitForSelector('#user');
    assert(page.url().startsWith(URL0 + '/signin'), page.url());
  });
  await shot(desk, 'signin');
  await axe(desk, 'the sign-in page');
  await check('desktop: the UI speaks Korean from its catalog', async () => {
    await page.selectOption('#lang-signin', 'ko');
    await page.waitForSelector('h1:has-text("vdc 로그인")');
    await shot(desk, 'signin-ko');
    await page.selectOption('#lang-signin', 'en');
    await page.waitForSelector('h1:has-text("Sign in to vdc")');
  });
  await check('desktop: a wrong password is refused on the page', async () => {
    await page.fill('#user', 'olivia');
    await page.fill('#password', 'not-the-password');
    desk.allow401 = true; // the browser logs the 401 of the refused login
    await page.click('button[type=submit]');
    await page.waitForSelector('.error[role=alert]', { timeout: 20000 });
    desk.allow401 = false;
  });
  await check('desktop: the operator signs in with a password, and the inventory reads its lists once (after the live stream is up, not again when it comes up)', async () => {
    const reads = [];
    const seen = (r) => { if (/\/api\/v1\/(vms|clusters)\?limit=100$/.test(r.url())) reads.push(r.url().replace(/^.*\/api/, '/api')); };
    page.on('request', seen);
    try {
      await signInPassword(desk, 'olivia', env('VDC_OPER_PASS'));
      await page.waitForFunction(() => {
        const b = document.querySelector('[data-testid="tree-vms"]');
        return b && (b.querySelector('li a') || b.querySelector('p.muted:not(:empty)')) && !/Loading/.test(b.textContent);
      }, null, { timeout: 20000 });
      await new Promise((r) => setTimeout(r, 1000)); // a second round would come by now
    } finally {
      page.off('request', seen);
    }
    assert(reads.length === 2, 'the lists were read ' + reads.length + ' times: ' + reads.join(', '));
  });
  await check('desktop: the token is in sessionStorage, never in the URL', async () => {
    const s = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vdc.session')));
    assert(s && /^vdct_/.test(s.token), 'no token kept');
    assert(!page.url().includes(s.token), 'token in URL');
    assert(await page.evaluate(() => !document.cookie), 'a cookie was set');
  });
  await vmWalk(desk, 'ui-desk');
  await vmListWalk(desk, H);
  await consoleWalk(desk, helpers());

  await check('desktop: a revoked token sends the UI back to the sign-in page', async () => {
    const list = await apiAs(ADMIN, 'GET', '/api/v1/tokens?user=olivia');
    assert(list.status === 200, 'tokens list ' + list.status);
    for (const tk of list.data.items) await apiAs(ADMIN, 'DELETE', '/api/v1/tokens/' + tk.id);
    desk.allow401 = true; // until the next sign-in
    await nav(desk, 'Tasks');
    await page.waitForSelector('#user', { timeout: 20000 });
    assert(await page.evaluate(() => sessionStorage.getItem('vdc.session') === null), 'the token is still kept');
  });

  await check('desktop: an administrator signs in with an API token, back on the page they were on', async () => {
    await page.check('input[value=token]');
    await page.fill('#token', ADMIN);
    await page.click('button[type=submit]');
    // Back to the page the expired session was on.
    await page.waitForSelector('h1:has-text("Tasks")', { timeout: 20000 });
    desk.allow401 = false; // the pages' calls with the revoked token are over
  });
  await check('desktop: the tree goes cluster -> host -> VM for an administrator', async () => {
    await nav(desk, 'Inventory');
    await page.click('[data-testid=tree-clusters] summary:has-text("c1")');
    await page.click('[data-testid=tree-clusters] summary:has-text("h1")');
    await page.waitForSelector('[data-testid=tree-clusters] a:has-text("bulk-1")', { timeout: 10000 });
  });
  await shot(desk, 'tree-admin');
  for (const [label, heading, file] of [['Hosts', 'Hosts', 'hosts'], ['Projects', 'Projects', 'projects'], ['Users', 'Users', 'users'], ['API tokens', 'API tokens', 'tokens'], ['Tasks', 'Tasks', 'tasks']]) {
    await check(`desktop: the ${file} page opens`, async () => {
      await nav(desk, label);
      await page.waitForSelector(`h1:has-text("${heading}")`);
      // Not 'networkidle': the live stream keeps a request open.
      await page.waitForFunction(() => !document.querySelector('main').textContent.includes('Loading'), null, { timeout: 10000 });
    });
    await shot(desk, file);
    await axe(desk, `the ${file} page`);
  }
  await check('desktop: the join-token flow shows the token and the CA fingerprint', async () => {
    await nav(desk, 'Hosts');
    await page.click('button:has-text("Make a join token")');
    await page.waitForSelector('[data-testid=join-token]:has-text("sha256:")');
    await shot(desk, 'join-token');
  });
  await check('desktop: a project page shows members and quota usage', async () => {
    await nav(desk, 'Projects');
    await page.click('a:has-text("dev")');
    await page.waitForSelector('h2:has-text("Quota and usage")');
    await page.waitForSelector('li:has-text("olivia")');
    await shot(desk, 'project');
  });
  await axe(desk, 'the project page');
  await clustersAdminWalk(desk, H);
  await poolsWalk(desk, H);
  await migrateWalk(desk, helpers());
  await check('desktop: sign out returns to the sign-in page and forgets the token', async () => {
    await page.click('[data-testid=signout]');
    await page.waitForSelector('#user');
    assert(await page.evaluate(() => sessionStorage.getItem('vdc.session') === null), 'token kept');
  });
  await noErrors(desk);
  await desk.ctx.close();

  // --- a viewer: no mutating buttons, and the API refuses anyway ---------
  const view = await open('viewer', { width: 1280, height: 800 });
  await check('viewer: signs in with a password', () => signInPassword(view, 'victor', env('VDC_VIEW_PASS')));
  await check('viewer: no "Create VM" for a viewer', async () => {
    assert(await view.page.locator('a:has-text("Create VM")').count() === 0, 'Create VM is shown');
  });
  await check('viewer: the VM page has no power, delete, resize or clone controls', async () => {
    await view.page.fill('#search', 'shown-to');
    await view.page.click('.search-results a:has-text("shown-to-viewer")');
    await view.page.waitForSelector('[data-testid=readonly]');
    for (const sel of ['[data-testid^=power-]:not([data-testid=power-state])', '[data-testid=delete]', '#rs-vcpus', '#clone-name', '#snap-name',
      '[data-testid=hw-disk-add]', '[data-testid=hw-nic-add]']) {
      assert(await view.page.locator(sel).count() === 0, sel + ' is shown');
    }
  });
  await shot(view, 'vm-readonly');
  await axe(view, 'the read-only VM page');
  await check('viewer: the API refuses a viewer\'s start and delete (403)', async () => {
    const token = await view.page.evaluate(() => JSON.parse(sessionStorage.getItem('vdc.session')).token);
    const s = await apiAs(token, 'POST', '/api/v1/vms/shown-to-viewer/start', {});
    const d = await apiAs(token, 'DELETE', '/api/v1/vms/shown-to-viewer');
    assert(s.status === 403 && d.status === 403, `start ${s.status}, delete ${d.status}`);
  });
  await consoleRefusals(view, helpers());
  await clustersViewerWalk(view, H);
  await check('viewer: signing out revokes the login token the UI made', async () => {
    const token = await view.page.evaluate(() => JSON.parse(sessionStorage.getItem('vdc.session')).token);
    await view.page.click('[data-testid=signout]');
    await view.page.waitForSelector('#user');
    let st = 0;
    for (let i = 0; i < 50 && st !== 401; i++) {
      st = (await apiAs(token, 'GET', '/api/v1/auth/whoami')).status;
      if (st !== 401) await new Promise((r) => setTimeout(r, 100));
    }
    assert(st === 401, 'the token still works after sign-out: ' + st);
  });
  await noErrors(view);
  await view.ctx.close();

  // --- live updates, tasks and cancel, events, charts (e2e_live.mjs) -------
  await liveWalk({ open, check, assert, axe, shot, apiAs, noErrors, notOk, URL0, ADMIN });

  // --- a phone: the same walk at 390x844, by touch -------------------------
  const phone = await open('phone', { width: 390, height: 844 }, true);
  await check('phone: the operator signs in', () => signInPassword(phone, 'olivia', env('VDC_OPER_PASS')));
  await check('phone: the navigation folds behind a menu button', async () => {
    assert(await phone.page.locator('nav a:has-text("Create VM")').isHidden(), 'nav shown without the menu');
    assert(await phone.page.locator('.menu-button').isVisible(), 'no menu button');
  });
  await check('phone: nothing is wider than the screen', async () => {
    const w = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert(w <= 390, 'page is ' + w + ' px wide');
  });
  await vmWalk(phone, 'ui-phone');
  await consoleWalk(phone, helpers());
  await noErrors(phone);
  await phone.ctx.close();
}

main().then(() => process.exit(failures ? 1 : 0), (e) => { notOk('the walk ran to its end', e && e.stack); process.exit(1); });
