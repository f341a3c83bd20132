// e2e_ha.mjs - high availability in the web UI, in Debian's chromium
// through playwright-core (run by tests/integration/t_ui_ha.sh, which
// stands up cluster c1 of two namespace hosts sharing a datastore, HA off,
// and VM vip running on one of them, and sets the VDC_* variables). An
// administrator turns HA on in the cluster's HA form (a lease no longer
// than the network timeout refused first, naming the field), sees the
// failover capacity (the summary, the bars, "tolerates N host failures")
// and each host connected; sets vip's restart priority on its page; an
// operator of vip's project is told who may change it. Then vip's host is
// killed (every process of its namespace, VDC_KILL_HOST): the cluster's
// incident timeline shows the host failed, the restart placed and done,
// in that order with vdcd's reasons; the host's HA badge is "failed" (red,
// the reason as its title) on the host list and page; vip's page shows its
// last HA restart (from, to, when, why). axe-core finds no serious
// violation on the pages; no console error. Prints "ok - ..." / "not ok -
// ..." lines.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + ' is not set'); return v; };
const require = createRequire(env('VDC_UI_MODULES') + '/');
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const URL0 = env('VDC_UI_URL');
const ADMIN = env('VDC_ADMIN_TOKEN');
const NAME = 't_ui_ha';
let failures = 0;

const ok = (d) => console.log(`ok - ${NAME}: ${d}`);
const notOk = (d, why) => { failures++; console.log(`not ok - ${NAME}: ${d}`); if (why) console.log('# ' + String(why).split('\n').slice(0, 8).join('\n# ')); };
async function check(desc, fn) {
  try { await fn(); ok(desc); return true; } catch (e) { notOk(desc, e && e.message); return false; }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(method, p, body) {
  const res = await fetch(URL0 + p, {
    method, headers: { Authorization: 'Bearer ' + ADMIN, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
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
const errors = [];
let allowStatus = null; // a refusal the walk asks for: the browser logs its status
function watch(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error' || /net::ERR_NETWORK_CHANGED/.test(m.text())) return;
    if (allowStatus && allowStatus.test(m.text())) return;
    errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
}
const page = ctx.pages()[0] || (await ctx.newPage());
watch(page);

// In place, as a click on a link does (no reload: the session is the tab's).
async function go(p, to) {
  await p.evaluate((u) => { history.pushState(null, '', u); dispatchEvent(new PopStateEvent('popstate')); }, to);
}

async function axe(what) {
  await check(`${what} has no serious accessibility violation (axe-core)`, async () => {
    await page.evaluate(axeSource);
    const found = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
    });
    assert(found.length === 0, found.join('\n'));
  });
}

async function shot(name) {
  if (process.env.VDC_UI_SHOTS) await page.screenshot({ path: process.env.VDC_UI_SHOTS + '/ha-' + name + '.png', fullPage: true });
}

const cluster = (await api('GET', '/api/v1/clusters/c1')).data;
const vm0 = (await api('GET', '/api/v1/vms/vip?project=dev')).data;
assert(cluster && vm0, 'the test made cluster c1 and VM vip');
const haPath = '/clusters/' + cluster.id + '/ha';

try {
  await check('an administrator opens Clusters: c1 has HA off, and its link opens the cluster\'s HA page', async () => {
    await page.goto(URL0 + '/');
    await page.waitForSelector('#user');
    await page.check('input[value=token]');
    await page.fill('#token', ADMIN);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Inventory")', { timeout: 20000 });
    await page.click('nav a:has-text("Clusters")');
    const link = page.locator('tr[data-cluster=c1] [data-testid=ha-link]');
    await link.waitFor({ timeout: 10000 });
    assert((await link.innerText()).trim() === 'off', 'the link says ' + await link.innerText());
    await link.click();
    await page.waitForSelector('h1:has-text("High availability: c1")', { timeout: 10000 });
    assert(new URL(page.url()).pathname === haPath, page.url());
    await page.waitForSelector('[data-testid=ha-enabled-badge]:text-is("off")');
  });

  await check('HA off: the page says so; the capacity and both hosts are shown all the same', async () => {
    await page.waitForSelector('.notice:has-text("HA is off")');
    await page.waitForSelector('[data-testid=ha-summary]', { timeout: 10000 });
    assert(await page.locator('[data-testid=ha-hosts] tr[data-host]').count() === 2, 'two host rows');
  });

  await check('a lease no longer than the network timeout is refused in the form, naming the field', async () => {
    await page.check('#ha-enabled');
    await page.click('[data-testid=ha-advanced] summary');
    await page.fill('#ha-net_timeout_ms', '2000');
    await page.fill('#ha-lease_ms', '1500');
    allowStatus = /status of 400/;
    await page.click('[data-testid=ha-save]');
    const err = page.locator('[data-testid=ha-form] .error[role=alert]');
    await err.waitFor({ timeout: 10000 });
    allowStatus = null;
    const text = await err.innerText();
    assert(/lease/.test(text), 'the error says ' + text);
    await page.waitForSelector('#ha-lease_ms[aria-invalid=true]');
    const c = (await api('GET', '/api/v1/clusters/c1')).data;
    assert(!(c.ha && c.ha.enabled), 'HA was turned on anyway: ' + JSON.stringify(c.ha));
  });

  await check('HA is turned on through the form: default priority low, one host failure tolerated, a 5 s lease, a 0.4 s margin', async () => {
    await page.selectOption('#ha-priority', 'low');
    await page.selectOption('#ha-isolation', 'leave');
    await page.selectOption('#ha-policy', 'host_failures');
    await page.fill('#ha-host_failures', '1');
    await page.fill('#ha-lease_ms', '5000');
    await page.fill('#ha-margin_ms', '400');
    await page.click('[data-testid=ha-save]');
    await page.waitForSelector('[data-testid=ha-form] .notice:has-text("HA settings of c1 saved")', { timeout: 10000 });
    await page.waitForSelector('[data-testid=ha-enabled-badge]:text-is("on")', { timeout: 10000 });
    const c = (await api('GET', '/api/v1/clusters/c1')).data;
    const h = c.ha || {};
    // Only what changed is sent: one host failure is what HA keeps when
    // no admission policy is set, as the form showed.
    const a = h.admission || { policy: 'host_failures', host_failures: 1 };
    assert(h.enabled === true && h.default_priority === 'low' && h.net_timeout_ms === 2000 && h.lease_ms === 5000 &&
      h.margin_ms === 400 && a.policy === 'host_failures' && a.host_failures === 1,
    'the cluster has ' + JSON.stringify(h));
  });

  await check('the failover capacity: the summary, "tolerates N host failures", a bar and the numbers for CPU and memory', async () => {
    await page.waitForSelector('[data-testid=ha-admission-policy]:text-is("tolerate 1 host failure")', { timeout: 10000 });
    const summary = (await page.locator('[data-testid=ha-summary]').innerText()).trim();
    assert(summary.length > 10, 'the summary is "' + summary + '"');
    const tol = page.locator('[data-testid=ha-tolerates]');
    assert(/^tolerates \d+ host failures?$/.test((await tol.innerText()).trim()), 'it says ' + await tol.innerText());
    const r = (await api('GET', haPath.replace('/clusters', '/api/v1/clusters'))).data;
    assert(String(r.failover_capacity.tolerates_host_failures) === await tol.getAttribute('data-n'),
      'the page says ' + await tol.getAttribute('data-n') + ', the API ' + r.failover_capacity.tolerates_host_failures);
    assert(await page.locator('[data-testid=ha-capacity] svg.ha-bar[role=img]').count() === 2, 'two bars');
    const total = (await page.locator('[data-testid=ha-total-vcpus]').innerText()).trim();
    assert(total === String(r.failover_capacity.total.vcpus), 'total vCPUs ' + total);
    const load = (await page.locator('[data-testid=ha-load-vcpus]').innerText()).trim();
    assert(load === String(r.failover_capacity.load.vcpus) && +load >= 1, 'load vCPUs ' + load);
  });

  await check('each host\'s HA state: both connected', async () => {
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ha-hosts] [data-testid=ha-badge][data-state=connected]').length === 2,
      null, { timeout: 15000 });
  });
  await shot('cluster-on');
  await axe('the cluster\'s HA page');

  let vm = vm0;
  await check('vip\'s page: its priority is the cluster\'s (low); an administrator sets it to high', async () => {
    await go(page, '/vms/' + vm0.id);
    await page.waitForSelector('[data-testid=vm-ha]', { timeout: 10000 });
    await page.waitForSelector('[data-testid=vm-ha-priority]:text-is("the cluster\'s: low")', { timeout: 10000 });
    assert(await page.locator('[data-testid=vm-ha-last]').innerText() === 'never', 'a last restart is shown');
    await page.selectOption('#vmha-priority', 'high');
    await page.click('[data-testid=vm-ha-save]');
    await page.waitForSelector('[data-testid=vm-ha-result]:text-is("HA settings saved.")', { timeout: 10000 });
    await page.waitForSelector('[data-testid=vm-ha-priority]:text-is("high")', { timeout: 10000 });
    vm = (await api('GET', '/api/v1/vms/' + vm0.id)).data;
    assert(vm.ha && vm.ha.priority === 'high', 'the VM has ' + JSON.stringify(vm.ha));
  });
  await axe('the VM\'s page');

  await check('vip\'s page: a readiness probe set in its resize form (TCP 7777, where the test guest answers) shows it ready', async () => {
    await go(page, '/vms/' + vm0.id);
    await page.waitForSelector('[data-testid=readiness]:text-is("No probe")', { timeout: 10000 });
    await page.fill('#rs-ready', '7777');
    await page.click('form[aria-labelledby=resize-title] button[type=submit]');
    let v = null;
    for (const end = Date.now() + 10000; Date.now() < end && !(v && v.config.ready_probe);) {
      await page.waitForTimeout(300);
      v = (await api('GET', '/api/v1/vms/' + vm0.id)).data;
    }
    assert(v.config.ready_probe && v.config.ready_probe.tcp_port === 7777, 'the probe is ' + JSON.stringify(v.config.ready_probe));
    // Its host learns it in the reply to its next heartbeat (10 s here).
    let text = '';
    for (const end = Date.now() + 60000; Date.now() < end;) {
      await go(page, '/vms');
      await go(page, '/vms/' + vm0.id);
      await page.waitForSelector('[data-testid=readiness]', { timeout: 10000 });
      text = await page.locator('[data-testid=readiness]').innerText();
      if (/^Ready since /.test(text)) break;
      await page.waitForTimeout(1000);
    }
    assert(/^Ready since .* \(TCP 7777 answers\)$/.test(text), 'readiness says ' + text);
  });

  await check('an operator of vip\'s project sees its HA settings and is told that only an administrator changes them', async () => {
    const p2 = await ctx.newPage(); // a tab of its own: a session of its own
    watch(p2);
    try {
      await p2.goto(URL0 + '/');
      await p2.waitForSelector('#user');
      await p2.fill('#user', 'olga');
      await p2.fill('#password', env('VDC_OPER_PASS'));
      await p2.click('button[type=submit]');
      await p2.waitForSelector('h1:has-text("Inventory")', { timeout: 20000 });
      await go(p2, '/vms/' + vm0.id);
      await p2.waitForSelector('[data-testid=vm-ha-priority]:text-is("high")', { timeout: 10000 });
      const why = await p2.locator('[data-testid=vm-ha-readonly]').innerText();
      assert(/Only a system administrator/.test(why), 'it says ' + why);
      assert(await p2.locator('#vmha-priority').count() === 0, 'the operator has the form');
      await go(p2, haPath);
      await p2.waitForSelector('[data-testid=ha-readonly]', { timeout: 10000 });
      assert(await p2.locator('#ha-enabled').count() === 0 && await p2.locator('[data-testid=ha-capacity]').count() === 0,
        'the operator has the form or the capacity');
    } finally {
      await p2.close();
    }
  });

  // The crash: vip's host, once it confirmed that it fences vip (HA
  // restarts elsewhere only what its host confirmed).
  const from = (await api('GET', '/api/v1/hosts/' + vm.host_id)).data;
  await check(`vip's host ${from.name} confirms that it fences vip`, async () => {
    for (let i = 0; i < 100; i++) {
      const h = (await api('GET', '/api/v1/hosts/' + from.id)).data;
      if ((h.ha_protected || []).includes(vm.id)) return;
      await sleep(200);
    }
    throw new Error('not in its ha_protected');
  });
  await go(page, haPath);
  await page.waitForSelector('[data-testid=ha-timeline-section]', { timeout: 10000 });
  const t0 = Date.now();
  execFileSync(env('VDC_KILL_HOST'), [from.name]);
  console.log(`# killed every process of ${from.name}`);

  await check('the timeline shows the host failed, then vip\'s restart placed, then done, with the reasons', async () => {
    const sel = (a, extra) => `[data-testid=ha-timeline] li[data-action="${a}"]${extra || ''}`;
    await page.waitForSelector(sel('host.ha_failed', `[data-target="${from.name}"]`), { timeout: 60000 });
    await page.waitForSelector(sel('vm.ha_restart', '[data-phase=placed][data-target=vip]'), { timeout: 30000 });
    await page.waitForSelector(sel('task.vm.ha_restart', '[data-phase=restarted][data-target=vip]'), { timeout: 60000 });
    console.log(`# the timeline showed the restart done ${((Date.now() - t0) / 1000).toFixed(1)} s after the kill`);
    const order = await page.$$eval('[data-testid=ha-timeline] li', (lis) => lis.map((li) => li.dataset.action + '/' + li.dataset.phase));
    const i = (x) => order.findIndex((o) => o.startsWith(x));
    assert(i('host.ha_failed') < i('vm.ha_restart/placed') && i('vm.ha_restart/placed') < i('task.vm.ha_restart/restarted'),
      'in the order ' + order.join(', '));
    assert(!order.some((o) => o.endsWith('/refused')), 'something was refused: ' + order.join(', '));
    const failed = await page.locator(sel('host.ha_failed', `[data-target="${from.name}"]`)).last().innerText();
    assert(/lease not renewed/.test(failed), 'the failure says ' + failed);
    const placed = await page.locator(sel('vm.ha_restart', '[data-phase=placed]')).last().innerText();
    assert(new RegExp(`host ${from.name} failed; restarted on`).test(placed), 'the restart says ' + placed);
  });
  await check('the incidents at a glance: the crash is one incident of the host, fenced, its VMs running again', async () => {
    const row = `[data-testid=ha-incidents] tr[data-kind=host][data-target="${from.name}"]`;
    await page.waitForSelector(row, { timeout: 30000 });
    await page.waitForFunction((r) => /\+[0-9.]+ s/.test((document.querySelector(r + ' [data-testid=ha-incident-all-running]') || {}).textContent || ''), row, { timeout: 60000 });
    const fenced = await page.locator(`${row} [data-testid=ha-incident-fenced]`).first().innerText();
    const vms = await page.locator(`${row} [data-testid=ha-incident-vms]`).first().innerText();
    assert(/^\+[0-9.]+ s$/.test(fenced), 'fenced after ' + fenced);
    assert(/[1-9][0-9]* started/.test(vms) && /0 failed/.test(vms), 'its VMs: ' + vms);
  });
  await check('the cluster\'s hosts: the dead host\'s HA state is failed, with its reason', async () => {
    const row = `[data-testid=ha-hosts] tr[data-host="${from.name}"]`;
    await page.waitForSelector(`${row} [data-testid=ha-badge][data-state=failed]`, { timeout: 15000 });
    const why = await page.locator(`${row} [data-testid=ha-reason]`).innerText();
    assert(/lease/.test(why), 'the reason is ' + why);
  });
  await shot('cluster-failed');
  await axe('the cluster\'s HA page after the failure');

  await check('the host list: the failed host\'s HA badge is failed, in red, its reason as the title', async () => {
    await page.click('nav a:has-text("Hosts")');
    const badge = page.locator(`tr[data-host="${from.name}"] [data-testid=ha-badge]`);
    await badge.waitFor({ timeout: 10000 });
    await page.waitForSelector(`tr[data-host="${from.name}"] [data-testid=ha-badge][data-state=failed]`, { timeout: 10000 });
    assert(/lease/.test(await badge.getAttribute('title') || ''), 'the title is ' + await badge.getAttribute('title'));
    const bg = await badge.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert(bg === 'rgb(251, 213, 213)', 'its background is ' + bg);
    // A verdict is written when it changes: the other host has none, or connected.
    const other = await page.locator(`tr[data-host]:not([data-host="${from.name}"]) [data-testid=ha-badge]:not([data-state=connected])`).count();
    assert(other === 0, 'the other host has an HA badge other than connected');
  });
  await check('the host\'s page: HA failed, with the reason', async () => {
    await page.click(`tr[data-host="${from.name}"] a`);
    await page.waitForSelector('h1 [data-testid=ha-badge][data-state=failed]', { timeout: 10000 });
    const why = await page.locator('[data-testid=host-ha-reason]').innerText();
    assert(/lease not renewed/.test(why), 'the reason is ' + why);
  });
  await axe('the host\'s page');

  await check('vip\'s page: its last HA restart, from the dead host to the other, when and why', async () => {
    await go(page, '/vms/' + vm0.id);
    const route = page.locator('[data-testid=vm-ha-last-route]');
    await route.waitFor({ timeout: 15000 });
    const now = (await api('GET', '/api/v1/vms/' + vm0.id)).data;
    const to = (await api('GET', '/api/v1/hosts/' + now.host_id)).data;
    assert(to.name !== from.name, 'vip is still on ' + from.name);
    const text = await route.innerText();
    assert(text === `from ${from.name} to ${to.name}`, 'the route says ' + text);
    assert(await page.locator('[data-testid=vm-ha-last] time').count() === 1, 'no time');
    const why = await page.locator('[data-testid=vm-ha-last-reason]').innerText();
    assert(new RegExp(`host ${from.name} failed; restarted on ${to.name}`).test(why), 'the reason is ' + why);
    await page.waitForSelector('h1 .badge:text-is("running")', { timeout: 30000 });
  });
  await shot('vm-restarted');

  await check('the HA page speaks Korean', async () => {
    await go(page, haPath);
    await page.selectOption('#lang', 'ko');
    await page.waitForSelector('h1:has-text("고가용성: c1")', { timeout: 10000 });
    await page.waitForSelector('#ha-timeline-title:text-is("사고 기록")');
    await shot('cluster-ko');
    await page.selectOption('#lang', 'en');
    await page.waitForSelector('h1:has-text("High availability: c1")');
  });
  await check('no console error on the way', async () => assert(errors.length === 0, errors.join('\n')));
} finally {
  await ctx.close();
}
process.exit(failures ? 1 : 0);
