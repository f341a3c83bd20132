// e2e_live.mjs - the live parts of the web UI in the browser walk (called
// by e2e.mjs with its helpers; t_ui.sh has made the running VM "ui-live",
// of a guest that ignores the power button, and the template "deaf"):
//  - the inventory tree follows a pause made through the API, and the VM
//    page a resume, without a reload (a mark set in the page survives);
//    the header says "live";
//  - its connections cut (ss -K) it says "reconnecting"; then the stream
//    is opened again with Last-Event-ID (the token in its header, never the
//    URL) and the page shows the pause made meanwhile;
//  - the VM's and the host's charts draw the agent's samples (the series'
//    colour is on the canvas) and their tables show numbers;
//  - the tasks page shows tasks made through the API as they come, each
//    naming its VM (target_name); a stop
//    that runs has no Cancel button (vdcd cannot cancel it); a start queued
//    behind the stops (vdcd's 4 workers all wait on the guest) is cancelled
//    from the page and ends cancelled; the events page shows the cancel
//    as it is written; a task page follows a stop to its end;
//  - the same pages at phone size; axe-core on each; no console error.

import { execFileSync } from 'node:child_process';

// The colour plot.js gives a chart's first series (COLORS[0]).
const SERIES_RGB = [0x1f, 0x5f, 0xbf];
const WORKERS = 4; // vdcd's default --workers, which t_ui.sh keeps
const STOP_TIMEOUT_S = 10;

export async function liveWalk(h) {
  const { open, check, assert, axe, shot, apiAs, noErrors, URL0, ADMIN } = h;
  const walk = await open('live', { width: 1280, height: 800 });
  const { page } = walk;
  const api = (method, p, body) => apiAs(ADMIN, method, p, body);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function until(what, fn, ms) {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error('timed out waiting for ' + what);
      await sleep(250);
    }
  }
  const go = async (p) => {
    // In place, as a click on a link would: the stream stays open.
    await page.evaluate((to) => { history.pushState(null, '', to); dispatchEvent(new PopStateEvent('popstate')); }, p);
  };

  await check('live: an administrator signs in with a token; the header says "live"', async () => {
    await page.goto(URL0 + '/');
    await page.waitForSelector('#user');
    await page.check('input[value=token]');
    await page.fill('#token', ADMIN);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Inventory")', { timeout: 20000 });
    await page.waitForSelector('[data-testid=live-status][data-state=live]', { timeout: 10000 });
  });

  const vm = await until('ui-live to run', async () => {
    const r = await api('GET', '/api/v1/vms/ui-live?project=dev');
    return r.status === 200 && r.data.power_state === 'running' ? r.data : null;
  }, 120000).catch((e) => { h.notOk('live: the VM ui-live runs', e.message); return null; });
  if (!vm) { await walk.ctx.close(); return; }

  await check('live: a pause made through the API shows in the open inventory tree without a reload', async () => {
    const leaf = '[data-testid=tree-vms] .leaf:has(a:text-is("ui-live"))';
    await page.waitForSelector(leaf + ' .badge:has-text("running")', { timeout: 20000 });
    await page.evaluate(() => { window.vdcNoReload = 1; });
    const p = await api('POST', '/api/v1/vms/' + vm.id + '/pause', {});
    assert(p.status === 202, 'pause: ' + p.status);
    await page.waitForSelector(leaf + ' .badge:has-text("paused")', { timeout: 20000 });
  });
  await check('live: a resume made through the API shows on the open VM page without a reload; the header says "live"', async () => {
    await go('/vms/' + vm.id);
    await page.waitForSelector('[data-testid=power-state]:has-text("paused")', { timeout: 20000 });
    await page.waitForSelector('h1 .badge:has-text("paused")');
    await shot(walk, 'vm-paused-live');
    const r = await api('POST', '/api/v1/vms/' + vm.id + '/resume', {});
    assert(r.status === 202, 'resume: ' + r.status);
    await page.waitForSelector('[data-testid=power-state]:has-text("running")', { timeout: 20000 });
    await page.waitForSelector('h1 .badge:has-text("running")');
    assert(await page.evaluate(() => window.vdcNoReload === 1), 'the page was reloaded');
    assert(await page.locator('[data-testid=live-status][data-state=live]').count() === 1, 'the stream is not live (the page may have polled)');
  });

  // Drops the browser's connections to vdcd (only Chromium's sockets:
  // ss -K, as root) again and again for `ms`, as a flaky network would.
  const vdcd = new URL(URL0);
  async function cutBrowser(ms) {
    const end = Date.now() + ms;
    let cut = 0;
    while (Date.now() < end) {
      const out = execFileSync('ss', ['-tnpH', 'state', 'established', 'dst', vdcd.hostname + ':' + vdcd.port], { encoding: 'utf8' });
      for (const line of out.split('\n')) {
        if (!/chrom/i.test(line)) continue;
        const local = line.trim().split(/\s+/)[2];
        execFileSync('ss', ['-K', '-tnH', 'src', local, 'dst', vdcd.hostname + ':' + vdcd.port]);
        cut++;
      }
      await sleep(150);
    }
    return cut;
  }
  await check('live: when the connection drops the header says "reconnecting"; back, it resumes with Last-Event-ID (the token in its header, not the URL) and the page shows what happened meanwhile', async () => {
    const streams = [];
    const onReq = (r) => { if (r.url().includes('/api/v1/stream')) streams.push({ url: r.url(), headers: r.headers() }); };
    page.on('request', onReq);
    const mark = walk.errors.length;
    try {
      const cutting = cutBrowser(6000);
      await page.waitForSelector('[data-testid=live-status][data-state=reconnecting]', { timeout: 5000 });
      await shot(walk, 'reconnecting');
      const p = await api('POST', '/api/v1/vms/' + vm.id + '/pause', {});
      assert(p.status === 202, 'pause: ' + p.status);
      await until('the VM to pause', async () => (await api('GET', '/api/v1/vms/' + vm.id)).data.power_state === 'paused', 20000);
      const cut = await cutting;
      assert(cut > 0, 'no connection of the browser was cut');
      await page.waitForSelector('[data-testid=live-status][data-state=live]', { timeout: 40000 });
      await page.waitForSelector('[data-testid=power-state]:has-text("paused")', { timeout: 20000 });
    } finally {
      page.off('request', onReq);
      // What the browser logs of the requests cut is expected.
      const mine = walk.errors.splice(mark);
      walk.errors.push(...mine.filter((e) => !/ERR_CONNECTION_RESET|ERR_CONNECTION_CLOSED|ERR_CONNECTION_ABORTED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_REFUSED/.test(e)));
    }
    assert(streams.length >= 1, 'no new stream request');
    const last = streams[streams.length - 1];
    assert(/^[0-9A-Za-z]+-\d+$/.test(last.headers['last-event-id'] || ''), 'the reconnect sent no Last-Event-ID: ' + JSON.stringify(last.headers));
    assert(/^Bearer /.test(last.headers.authorization || ''), 'no Authorization header');
    const token = last.headers.authorization.slice(7);
    assert(streams.every((x) => !x.url.includes(token) && !/token/i.test(x.url)), 'a token in a stream URL');
    assert(await page.evaluate(() => window.vdcNoReload === 1), 'the page was reloaded');
    console.log(`# ${streams.length} stream requests while cut, the last with Last-Event-ID ${last.headers['last-event-id']}`);
    const r = await api('POST', '/api/v1/vms/' + vm.id + '/resume', {});
    assert(r.status === 202, 'resume: ' + r.status);
    await page.waitForSelector('[data-testid=power-state]:has-text("running")', { timeout: 20000 });
  });

  // A chart drew samples: its table has numbers, and its first series'
  // colour is on the canvas (axes and grid alone are grey).
  async function chartsDrawn(what, names) {
    await check(`live: the ${what} charts draw the agent's samples and their tables show numbers`, async () => {
      await page.waitForSelector('[data-testid=chart-cpu] canvas', { timeout: 30000 });
      for (const n of names) {
        await until(`${what} ${n} to show a number`, () => page.evaluate((sel) => {
          const td = document.querySelector(sel);
          return td && /\d/.test(td.textContent) ? td.textContent : null;
        }, `tr[data-series=${n}] [data-testid=latest]`), 30000);
      }
      const px = await until(`${what} cpu line on the canvas`, () => page.evaluate((rgb) => {
        const c = document.querySelector('[data-testid=chart-cpu] canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40 && Math.abs(d[i + 2] - rgb[2]) < 40) n++;
        }
        return n > 20 ? n : null;
      }, SERIES_RGB), 30000);
      const alt = await page.getAttribute('[data-testid=chart-cpu] [role=img]', 'aria-label');
      assert(/\d/.test(alt), 'the chart\'s label has no number: ' + alt);
      console.log(`# ${what}: ${px} px of the cpu line; "${alt}"`);
    });
  }
  await go('/vms/' + vm.id + '/charts');
  await chartsDrawn('VM\'s', ['cpu', 'memory']);
  await check('live: uPlot loads in a chunk of its own, with its stylesheet as a file', async () => {
    const files = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
    assert(files.some((f) => /\/assets\/plot-[^/]+\.js$/.test(f)), 'no plot chunk: ' + files.join(' '));
    assert(files.some((f) => /\/assets\/plot-[^/]+\.css$/.test(f)), 'no plot stylesheet');
  });
  await check('live: the charts do not poll while the tab is hidden, and catch up once it is shown', async () => {
    const m = await api('GET', '/api/v1/vms/' + vm.id + '/metrics');
    const every = Math.max(2, m.data.interval_s || 5) * 1000;
    const polls = [];
    const seen = (r) => { if (/\/metrics(\?|$)/.test(r.url())) polls.push(Date.now()); };
    page.on('request', seen);
    try {
      await page.evaluate(() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await sleep(300); // a poll already on its way may still go out
      polls.length = 0;
      await sleep(every + 1000); // a shown tab polls once in this time
      assert(polls.length === 0, polls.length + ' polls of /metrics while the tab was hidden');
      const shownAt = Date.now();
      await page.evaluate(() => {
        delete document.hidden; // the real getter again: the page is visible
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await until('a poll after the tab is shown', async () => polls.length > 0, 2000);
      console.log(`# charts: no poll in ${every + 1000} ms hidden; polled ${polls[0] - shownAt} ms after shown`);
    } finally {
      page.off('request', seen);
    }
  });
  await shot(walk, 'vm-charts');
  await axe(walk, 'the VM\'s charts');
  await check('live: the range chooser shows a week from the consolidated history (30m buckets, demand beside use)', async () => {
    const asked = [];
    const seen = (r) => { if (/\/metrics\?since=7d$/.test(r.url())) asked.push(r.url()); };
    page.on('request', seen);
    try {
      await page.click('[data-testid=chart-range] button[data-range=week]');
      await until('the week to be asked', async () => asked.length > 0, 5000);
      await until('the body to name the 30m tier', () => page.evaluate(() => {
        const p = document.querySelector('[data-testid=chart-body]');
        return p && /30m/.test(p.textContent) ? p.textContent : null;
      }), 10000);
      assert(await page.getAttribute('[data-testid=chart-range] button[data-range=week]', 'aria-pressed') === 'true', 'week is not pressed');
      await until('the week\'s cpu_demand to show a number', () => page.evaluate(() => {
        const td = document.querySelector('tr[data-series=cpu_demand] [data-testid=latest]');
        return td && /\d/.test(td.textContent) ? td.textContent : null;
      }), 10000);
    } finally {
      page.off('request', seen);
    }
    await shot(walk, 'vm-charts-week');
    await page.click('[data-testid=chart-range] button[data-range=hour]');
    await until('the hour again', () => page.evaluate(() => /heartbeat/.test(document.querySelector('[data-testid=chart-body]').textContent) || null), 10000);
  });
  const hosts = await api('GET', '/api/v1/hosts?limit=1');
  await go('/hosts/' + hosts.data.items[0].id + '/charts');
  await chartsDrawn('host\'s', ['cpu', 'memory_used', 'memory_total']);
  await shot(walk, 'host-charts');
  await axe(walk, 'the host\'s charts');

  // Tasks, live, and a cancel.
  await go('/tasks');
  await page.waitForSelector('[data-testid=tasks]', { timeout: 10000 });
  const stops = [];
  await check(`live: ${WORKERS} stops made through the API appear on the open tasks page and run`, async () => {
    for (let i = 0; i < WORKERS; i++) {
      const r = await api('POST', '/api/v1/vms/' + vm.id + '/stop', { timeout_s: STOP_TIMEOUT_S });
      assert(r.status === 202, 'stop: ' + r.status);
      stops.push(r.data.task.id);
    }
    for (const id of stops) await page.waitForSelector(`tr[data-task="${id}"] [data-testid=task-state]:has-text("running")`, { timeout: 15000 });
    assert(await page.locator(`tr[data-task="${stops[0]}"] progress`).count() === 1, 'no progress bar');
    const target = await page.textContent(`tr[data-task="${stops[0]}"] td:nth-child(2)`);
    assert(target.includes(vm.name), 'the row names its target "' + target + '", not ' + vm.name);
  });
  await check('live: a running stop has no Cancel button (vdcd cannot cancel it)', async () => {
    assert(await page.locator(`tr[data-task="${stops[0]}"] [data-testid=task-cancel]`).count() === 0, 'Cancel is offered');
  });
  let queued = null;
  await check('live: a start queued behind them is cancelled from the page and ends cancelled', async () => {
    const bulk = await api('GET', '/api/v1/vms/bulk-2?project=dev');
    const r = await api('POST', '/api/v1/vms/' + bulk.data.id + '/start', {});
    assert(r.status === 202, 'start: ' + r.status);
    queued = r.data.task.id;
    const row = `tr[data-task="${queued}"]`;
    await page.waitForSelector(`${row} [data-testid=task-state]:has-text("queued")`, { timeout: 10000 });
    await shot(walk, 'tasks-live');
    await axe(walk, 'the live tasks page');
    await page.click(`${row} [data-testid=task-cancel]`);
    await page.waitForSelector(`${row} [data-testid=task-state]:has-text("cancelled")`, { timeout: 10000 });
    const tk = await api('GET', '/api/v1/tasks/' + queued);
    assert(tk.data.state === 'cancelled' && tk.data.error.code === 'cancelled', 'the task is ' + tk.data.state);
    const b = await api('GET', '/api/v1/vms/' + bulk.data.id);
    assert(b.data.power_state === 'stopped', 'bulk-2 is ' + b.data.power_state);
  });
  await check('live: the events page lists the cancel, and shows new events as they are written', async () => {
    await go('/events');
    await page.waitForSelector('[data-testid=events] td:has-text("vm.start")', { timeout: 10000 });
    await page.waitForSelector('[data-testid=events] .badge:has-text("cancelled")', { timeout: 10000 });
    await page.evaluate(() => { window.vdcEventsMark = 1; });
    const r = await api('POST', '/api/v1/projects', { name: 'live-events' });
    assert(r.status === 201, 'project create: ' + r.status);
    await page.waitForSelector('[data-testid=events] td:has-text("project.create")', { timeout: 10000 });
    await api('DELETE', '/api/v1/projects/live-events');
    await page.waitForSelector('[data-testid=events] td:has-text("project.delete")', { timeout: 10000 });
    assert(await page.evaluate(() => window.vdcEventsMark === 1), 'the page was reloaded');
  });
  await shot(walk, 'events');
  await axe(walk, 'the events page');
  await check('live: a task page follows a stop to its end', async () => {
    await go('/tasks/' + stops[0]);
    await page.waitForSelector('h1:has-text("vm.stop")', { timeout: 10000 });
    await page.waitForSelector('h1 [data-testid=task-state]:has-text("succeeded")', { timeout: (STOP_TIMEOUT_S + 30) * 1000 });
    const v = await page.getAttribute('[data-testid=task-progress]', 'value');
    assert(v === '100', 'progress ' + v);
  });
  await shot(walk, 'task');
  await axe(walk, 'a task page');

  await check('live: at phone size the charts and tasks pages fit the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [p, sel] of [['/vms/' + vm.id + '/charts', '[data-testid=chart-cpu] canvas'], ['/tasks', '[data-testid=tasks]']]) {
      await go(p);
      await page.waitForSelector(sel, { timeout: 20000 });
      await sleep(300); // the charts follow their box's new width
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      const wide = w <= 390 ? '' : await page.evaluate(() => Array.from(document.querySelectorAll('body *'))
        .filter((el) => el.getBoundingClientRect().right > 391 && !el.closest('table'))
        .slice(0, 6).map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + Math.round(el.getBoundingClientRect().right)).join(', '));
      assert(w <= 390, p + ' is ' + w + ' px wide: ' + wide);
      const cw = await page.evaluate(() => { const c = document.querySelector('[data-testid=chart-cpu] canvas'); return c ? c.getBoundingClientRect().width : 0; });
      if (p.endsWith('/charts')) assert(cw > 200 && cw <= 390, 'the chart is ' + cw + ' px wide');
      await shot(walk, 'phone-' + p.split('/').pop());
    }
    await axe(walk, 'the tasks page at phone size');
  });
  await api('DELETE', '/api/v1/vms/' + vm.id + '?force=true');
  await noErrors(walk);
  await walk.ctx.close();
}
