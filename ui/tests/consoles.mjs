// consoles.mjs - the consoles' part of the browser walk (imported by
// e2e.mjs): the serial console (xterm.js) and the graphical one (noVNC) of
// con-1, a running guest whose shell is on its serial port and whose kernel
// also writes to its screen (t_ui.sh makes it). What the checks see is what
// the browser drew: the terminal's rows and the VNC canvas's pixels.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rnd = () => Math.random().toString(36).slice(2, 8);

// The terminal's text as drawn (xterm.js's DOM rows).
const termText = (page) => page.evaluate(() => {
  const rows = document.querySelector('[data-testid=serial-screen] .xterm-rows');
  return rows ? rows.textContent : '';
});

async function waitText(page, text, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const got = await termText(page);
    if (got.includes(text)) return;
    if (Date.now() > until) throw new Error(`"${text}" not drawn in ${ms} ms; the terminal shows: ${got.slice(-300)}`);
    await sleep(100);
  }
}

// The VNC canvas's framebuffer: its size, how many distinct colours, and
// how many pixels are not the most common colour ("ink": text on the
// guest's screen). Read from the canvas noVNC draws on.
const canvasStats = (page) => page.evaluate(() => {
  const c = document.querySelector('[data-testid=vnc-screen] canvas');
  if (!c || !c.width || !c.height) return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const count = new Map();
  for (let i = 0; i < d.length; i += 4) {
    const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    count.set(k, (count.get(k) || 0) + 1);
  }
  const top = Math.max(...count.values());
  const box = c.getBoundingClientRect();
  return { at: Math.round(performance.now()), w: c.width, h: c.height, colors: count.size, ink: c.width * c.height - top, shownW: box.width, shownH: box.height };
});

// How many of the canvas's pixels differ from the snapshot taken by
// snapCanvas (the guest's cursor blinking changes a few dozen).
const snapCanvas = (page) => page.evaluate(() => {
  const c = document.querySelector('[data-testid=vnc-screen] canvas');
  window.__snap = c.getContext('2d').getImageData(0, 0, c.width, c.height).data.slice();
});
const changedPixels = (page) => page.evaluate(() => {
  const c = document.querySelector('[data-testid=vnc-screen] canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, b = window.__snap;
  if (!b || b.length !== d.length) return -1;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] !== b[i] || d[i + 1] !== b[i + 1] || d[i + 2] !== b[i + 2]) n++;
  return n;
});

async function waitCanvas(page, pred, ms, what) {
  const until = Date.now() + ms;
  let s = null;
  for (;;) {
    s = await canvasStats(page);
    if (s && pred(s)) return s;
    if (Date.now() > until) throw new Error(`${what} not seen in ${ms} ms: ${JSON.stringify(s)}`);
    await sleep(100);
  }
}

// Types a command on the open serial console and presses Enter, by the
// keyboard or (phone) by the on-screen Enter key.
async function typeCommand(page, cmd, tapEnter) {
  await page.click('[data-testid=serial-screen]');
  await page.keyboard.type(cmd, { delay: 5 });
  if (tapEnter) await page.tap('[data-testid=key-enter]');
  else await page.keyboard.press('Enter');
}

// Another tab opened from the walk's page (as a user opens a console in a
// new tab: the tab's session comes along), its errors counted with the
// walk's.
async function extraPage(walk, url) {
  const [p] = await Promise.all([walk.ctx.waitForEvent('page'), walk.page.evaluate((u) => { window.open(u); }, url)]);
  p.on('console', (m) => { if (m.type() === 'error') walk.errors.push(p.url() + ': ' + m.text()); });
  p.on('pageerror', (e) => walk.errors.push(p.url() + ': ' + e.message));
  return p;
}

// The operator's consoles (desktop or phone).
export async function consoleWalk(walk, t) {
  const started = Date.now();
  try { await consoleSteps(walk, t); } finally { console.log(`# ${walk.label}: the consoles' steps took ${((Date.now() - started) / 1000).toFixed(1)} s`); }
}

async function consoleSteps(walk, t) {
  const { page } = walk;
  const { check, assert, shot, axe, URL0 } = t;
  const phone = walk.label === 'phone';
  await check(`${walk.label}: the VM page links to both consoles of a running VM`, async () => {
    await page.goto(URL0 + '/vms/con-1');
    await page.waitForSelector('[data-testid=open-serial]', { timeout: 20000 });
    await page.waitForSelector('[data-testid=open-vnc]');
    await page.click('[data-testid=open-serial]');
    await page.waitForSelector('[data-testid=console-state]:has-text("Connected")', { timeout: 20000 });
  });
  await check(`${walk.label}: the console libraries load only when a console opens`, async () => {
    const scripts = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name).filter((n) => n.endsWith('.js')));
    const index = await page.evaluate(() => [...document.querySelectorAll('script[src]')].map((s) => s.src));
    assert(scripts.some((n) => /\/assets\/serial-[^/]*\.js$/.test(n)), 'no serial chunk was fetched: ' + scripts.join(' '));
    assert(!index.some((n) => /serial-|vnc-/.test(n)), 'index.html loads a console chunk: ' + index.join(' '));
  });
  await check(`${walk.label}: the serial console's WebSocket runs in its worker, with a shared ring to the page (cross-origin isolated)`, async () => {
    assert(await page.evaluate(() => self.crossOriginIsolated), 'the page is not cross-origin isolated');
    const workers = page.workers().map((w) => w.url());
    assert(workers.some((u) => /\/assets\/serial_worker-[^/]*\.js$/.test(u)), 'no serial worker: ' + workers.join(' '));
  });
  const word = 'ui-' + rnd();
  await check(`${walk.label}: a command typed in the serial console is answered by the guest`, async () => {
    await typeCommand(page, `echo ${word}-$((6*7))`, phone);
    await waitText(page, `${word}-42`, 15000);
  });
  if (phone) {
    await check('phone: the serial console fits the screen, its keys are on it', async () => {
      const r = await page.evaluate(() => {
        const s = document.querySelector('[data-testid=serial-screen] .xterm-screen').getBoundingClientRect();
        const k = document.querySelector('[data-testid=key-ctrl_c]').getBoundingClientRect();
        return { right: s.right, bottom: s.bottom, kBottom: k.bottom, width: document.documentElement.scrollWidth, vh: innerHeight };
      });
      assert(r.right <= 390 && r.width <= 390, 'wider than the screen: ' + JSON.stringify(r));
      assert(r.kBottom <= r.vh, 'the keys are below the screen: ' + JSON.stringify(r));
    });
    await check('phone: the on-screen Ctrl-C key reaches the guest (its tty echoes ^C)', async () => {
      // The guest's shell has no controlling tty (rdinit=/bin/sh), so
      // ^C interrupts nothing, but its tty echoes it and drops the line.
      const w = 'int-' + rnd();
      await page.click('[data-testid=serial-screen]');
      await page.keyboard.type(`echo ${w}-not-run`, { delay: 5 });
      await page.tap('[data-testid=key-ctrl_c]');
      await waitText(page, `${w}-not-run^C`, 10000);
      await typeCommand(page, `echo ${w}-$((40+2))`, true);
      await waitText(page, `${w}-42`, 10000);
      assert((await termText(page)).split(`${w}-not-run`).length === 2, 'the dropped line ran');
    });
  }
  await shot(walk, 'console-serial');
  await axe(walk, 'the serial console');

  if (!phone) {
    await check('desktop: two pages on one serial console both see what the guest prints', async () => {
      const other = await extraPage(walk, URL0 + '/vms/con-1/serial');
      try {
        await other.waitForSelector('[data-testid=console-state]:has-text("Connected")', { timeout: 20000 });
        const w = 'both-' + rnd();
        await typeCommand(page, `echo ${w}-$((2*21))`, false);
        await waitText(page, `${w}-42`, 15000);
        await waitText(other, `${w}-42`, 15000);
      } finally {
        await other.close();
      }
    });
  }

  // The graphical console: the guest's screen, and what the serial shell
  // writes to the screen (tty0) drawn on it.
  const vnc = await extraPage(walk, URL0 + '/vms/con-1/console');
  try {
    let first = null;
    await check(`${walk.label}: the graphical console draws the guest's screen (non-blank canvas)`, async () => {
      await vnc.waitForSelector('[data-testid=console-state]:has-text("Connected")', { timeout: 20000 });
      first = await waitCanvas(vnc, (s) => s.colors >= 2 && s.ink > 200, 20000, 'a drawn screen');
      console.log(`# ${walk.label}: first VNC screen drawn ${first.at} ms after the page's navigation began (${first.w}x${first.h}, ${first.colors} colours)`);
    });
    if (first) {
      await check(`${walk.label}: the guest's screen is scaled into the window`, async () => {
        const vw = await vnc.evaluate(() => document.documentElement.clientWidth);
        assert(first.shownW <= vw + 1, `canvas shown ${first.shownW} px wide in a ${vw} px window`);
        assert(await vnc.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'the page scrolls sideways');
      });
      await check(`${walk.label}: the canvas changes with the guest (text written to its screen from the serial console)`, async () => {
        await snapCanvas(vnc);
        const bar = '='.repeat(60); // not '#': the shell would read a comment
        // The initramfs's /dev holds only its console (rdinit=/bin/sh
        // mounts nothing): make the screen's device (tty0, 4:0) first.
        await typeCommand(page, `[ -c /vt0 ] || mknod /vt0 c 4 0; for i in 1 2 3 4 5 6; do echo ${bar} > /vt0; done && echo tty0-$((1+1))`, phone);
        await waitText(page, 'tty0-2', 15000);
        // Six lines of text (and the screen scrolled by them): thousands
        // of pixels, where the cursor's blinking is a few dozen.
        const until = Date.now() + 20000;
        let n = 0;
        while ((n = await changedPixels(vnc)) < 2000 && Date.now() < until) await sleep(100);
        assert(n >= 2000, `only ${n} pixels changed`);
      });
      await check(`${walk.label}: Ctrl-Alt-Del is a button on the graphical console`, async () => {
        assert(await vnc.isEnabled('[data-testid=ctrl-alt-del]'), 'disabled');
      });
    }
    await shot({ ...walk, page: vnc }, 'console-vnc');
    await axe({ ...walk, page: vnc }, 'the graphical console');
  } finally {
    await vnc.close();
  }
}

// Someone who may not use con-1's consoles: no links, and the API refuses
// a ticket (a viewer of its project: 403; another project: 404).
export async function consoleRefusals(walk, t) {
  const { page } = walk;
  const { check, assert, apiAs, URL0, env } = t;
  await check(`${walk.label}: a viewer sees no console links on a running VM`, async () => {
    await page.goto(URL0 + '/vms/con-1');
    await page.waitForSelector('[data-testid=readonly]', { timeout: 20000 });
    await page.waitForSelector('[data-testid=power-state]:has-text("running")');
    assert(await page.locator('[data-testid=open-serial], [data-testid=open-vnc]').count() === 0, 'a console link is shown');
  });
  await check(`${walk.label}: the API refuses a viewer a console ticket (403)`, async () => {
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vdc.session')).token);
    for (const kind of ['serial', 'vnc']) {
      const r = await apiAs(token, 'POST', '/api/v1/vms/con-1/console/ticket', { kind });
      assert(r.status === 403 && !(r.data && r.data.ticket), `${kind}: ${r.status}`);
    }
  });
  await check(`${walk.label}: the serial console page opened by its address says why and connects nothing`, async () => {
    walk.allowStatus = /status of 403/; // the browser logs the refused ticket
    await page.goto(URL0 + '/vms/con-1/serial');
    await page.waitForSelector('.error[role=alert]', { timeout: 20000 });
    assert(await page.locator('.xterm').count() === 0, 'a terminal opened');
    walk.allowStatus = null;
  });
  await check('another project\'s administrator gets no ticket for con-1 (404)', async () => {
    const other = env('VDC_OTHER_TOKEN');
    const r = await apiAs(other, 'POST', '/api/v1/vms/con-1/console/ticket', { kind: 'serial' });
    assert(r.status === 404 && !(r.data && r.data.ticket), 'ticket: ' + r.status);
    const v = await apiAs(other, 'GET', '/api/v1/vms/con-1');
    assert(v.status === 404, 'the VM itself: ' + v.status);
  });
}
