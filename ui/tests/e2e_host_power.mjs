// e2e_host_power.mjs - a host's power on its page, in Debian's chromium
// through playwright-core (run by tests/integration/t_host_power.sh, which
// stands a real BMC up for host VDC_HOST and sets the VDC_* variables): an
// administrator finds no power driver, sets one in the form (the password
// typed, then gone from the page), reads the power state with the button
// (a host.power task followed to its end: "on"), and sees the buttons for
// on, off and cycle. axe-core finds no serious violation; no console error.
// Prints "ok - ..." / "not ok - ..." lines.
import { createRequire } from 'node:module';
import fs from 'node:fs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + ' is not set'); return v; };
const require = createRequire(env('VDC_UI_MODULES') + '/');
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const URL0 = env('VDC_UI_URL');
const ADMIN = env('VDC_ADMIN_TOKEN');
const HOST = env('VDC_HOST_ID');
const NAME = 't_host_power';
let failures = 0;

const ok = (d) => console.log(`ok - ${NAME}: ${d}`);
const notOk = (d, why) => { failures++; console.log(`not ok - ${NAME}: ${d}`); if (why) console.log('# ' + String(why).split('\n').slice(0, 6).join('\n# ')); };
async function check(desc, fn) {
  try { await fn(); ok(desc); return true; } catch (e) { notOk(desc, e && e.message); return false; }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

async function api(method, p) {
  const res = await fetch(URL0 + p, { method, headers: { Authorization: 'Bearer ' + ADMIN } });
  return { status: res.status, data: await res.json().catch(() => null) };
}

const profile = env('VDC_UI_PROFILE');
fs.rmSync(profile, { recursive: true, force: true });
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: env('VDC_CHROMIUM'),
  headless: true,
  viewport: { width: 1280, height: 900 },
  locale: 'en-US',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--ignore-certificate-errors-spki-list=' + env('VDC_UI_SPKI')],
});
const page = ctx.pages()[0] || (await ctx.newPage());
const errors = [];
page.on('console', (m) => {
  if (m.type() === 'error' && !/net::ERR_NETWORK_CHANGED/.test(m.text())) errors.push(m.text());
});
page.on('pageerror', (e) => errors.push(e.message));

try {
  await check('an administrator signs in with a token and opens the host\'s page: no power driver yet', async () => {
    await page.goto(URL0 + '/');
    await page.waitForSelector('#user');
    await page.check('input[value=token]');
    await page.fill('#token', ADMIN);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Inventory")', { timeout: 20000 });
    await page.evaluate((to) => { history.pushState(null, '', to); dispatchEvent(new PopStateEvent('popstate')); },
      '/objects/hosts/' + HOST);
    await page.waitForSelector('[data-testid=power-none]', { timeout: 10000 });
  });
  await check('the power driver is set in the form; the password is gone from the page, the API has the rest', async () => {
    await page.fill('#pd-address', env('VDC_BMC_ADDR'));
    await page.fill('#pd-port', env('VDC_BMC_PORT'));
    await page.fill('#pd-user', env('VDC_BMC_USER'));
    await page.fill('#pd-password', env('VDC_BMC_PW'));
    await page.click('[data-testid=power-driver-save]');
    await page.waitForSelector('[data-testid=power-state]', { timeout: 10000 });
    assert(await page.inputValue('#pd-password') === '', 'the password field keeps the password');
    assert(!(await page.content()).includes(env('VDC_BMC_PW')), 'the page holds the password');
    const h = await api('GET', '/api/v1/hosts/' + HOST);
    assert(h.status === 200 && h.data.power && h.data.power.address === env('VDC_BMC_ADDR') &&
      String(h.data.power.port) === env('VDC_BMC_PORT'), 'the host has ' + JSON.stringify(h.data && h.data.power));
  });
  await check('"Read state" runs a host.power task and shows what the BMC said: on', async () => {
    await page.click('[data-testid=power-status]');
    await page.waitForSelector('[data-testid=power-result].good', { timeout: 30000 });
    const said = await page.locator('[data-testid=power-result]').innerText();
    assert(/power is on/.test(said), 'the result says ' + said);
    await page.waitForSelector('[data-testid=power-state] .badge:text-is("on")', { timeout: 10000 });
  });
  await check('the page offers power on, off and cycle', async () => {
    for (const b of ['power-on', 'power-off', 'power-cycle'])
      assert(await page.locator(`[data-testid=${b}]`).isEnabled(), b + ' is not there');
  });
  await check('the host\'s page has no serious accessibility violation (axe-core)', async () => {
    await page.evaluate(axeSource);
    const found = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
    });
    assert(found.length === 0, found.join('\n'));
  });
  if (process.env.VDC_UI_SHOTS)
    await page.screenshot({ path: process.env.VDC_UI_SHOTS + '/host-power.png', fullPage: true });
  await check('no console error on the way', async () => assert(errors.length === 0, errors.join('\n')));
} finally {
  await ctx.close();
}
process.exit(failures ? 1 : 0);
