// echo.mjs - serial_echo_ms in headless Chromium (run by bench/ui/echo.sh,
// which starts vdcd, an agent and a VM named "echo" whose shell is on its
// serial port). Signs in with a token, opens the VM's serial console page
// as a user would (/vms/echo/serial: xterm.js on vdcd's WebSocket proxy),
// then types keys one at a time through Chromium's own input pipeline
// (Playwright's keyboard, i.e. CDP Input.dispatchKeyEvent) and times, in
// the page, from the key's keydown event to the moment xterm.js has drawn
// the echoed character in its rows (a MutationObserver on the rows: the
// DOM renderer writes them in its animation frame, so the paint is that
// frame). Prints "figure serial_echo_ms MEDIAN ms", its p95 and max,
// serial_echo_ws_ms (keydown to the echo's WebSocket message, the part
// before drawing) and serial_ws_roundtrip_ms (the same round trip sent by
// a timer, not a key); how it measured on stderr.
import { createRequire } from 'node:module';
import fs from 'node:fs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + ' is not set'); return v; };
const require = createRequire(env('VDC_UI_MODULES') + '/');
const { chromium } = require('playwright-core');
const URL0 = env('VDC_UI_URL');
const KEYS = Number(process.env.VDC_ECHO_KEYS || 20);
const say = (s) => process.stderr.write('echo: ' + s + '\n');
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))]; };

const profile = env('VDC_UI_PROFILE');
fs.rmSync(profile, { recursive: true, force: true });
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: env('VDC_CHROMIUM'), headless: true, viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--ignore-certificate-errors-spki-list=' + env('VDC_UI_SPKI')],
});
try {
  const page = ctx.pages()[0] || (await ctx.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  // When each WebSocket message arrives (before xterm.js sees it), to
  // tell the network's part from the drawing's.
  await page.addInitScript(() => {
    const W = window.WebSocket;
    window.WebSocket = class extends W {
      constructor(...a) { super(...a); window.__ws = this; this.addEventListener('message', () => { window.__wsAt = performance.now(); }); }
    };
  });
  await page.goto(URL0 + '/');
  await page.locator('input[name="mode"][value="token"]').check();
  await page.fill('#token', env('VDC_ADMIN_TOKEN'));
  await page.click('button[type="submit"]');
  await page.waitForSelector('h1:has-text("Inventory")', { timeout: 30000 });
  await page.goto(URL0 + '/vms/echo/serial');
  await page.waitForSelector('[data-testid=console-state]:has-text("Connected")', { timeout: 30000 });
  await page.click('[data-testid=serial-screen]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /#\s*$/.test(document.querySelector('.xterm-rows').textContent.trimEnd()), null, { timeout: 30000 });
  // In the page: keydown time, and the first redraw of the rows whose
  // text ends with everything typed so far.
  await page.evaluate(() => {
    const rows = document.querySelector('.xterm-rows');
    window.__echo = { typed: '', t0: 0, got: [], ws: [] };
    document.addEventListener('keydown', () => { window.__echo.t0 = performance.now(); }, true);
    new MutationObserver(() => {
      const e = window.__echo;
      if (!e.t0) return;
      const lines = [...rows.children].map((r) => r.textContent.replace(/\s+$/, '')).filter((l) => l);
      if (lines.length && lines[lines.length - 1].endsWith(e.typed)) {
        e.got.push(performance.now() - e.t0);
        e.ws.push(window.__wsAt === undefined ? null : window.__wsAt - e.t0);
        e.t0 = 0;
      }
    }).observe(rows, { childList: true, subtree: true, characterData: true });
  });
  // Every animation frame's time, to tell when a key's echo message came.
  await page.evaluate(() => {
    window.__frames = [];
    const f = (t) => { window.__frames.push(performance.now()); if (window.__frames.length > 4000) window.__frames.splice(0, 2000); requestAnimationFrame(f); };
    requestAnimationFrame(f);
  });
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const times = [], wire = [], afterFrame = [];
  for (let i = 0; i < KEYS; i++) {
    const c = letters[i % letters.length];
    await page.evaluate((ch) => { window.__echo.typed += ch; }, c);
    await page.keyboard.press(c);
    await page.waitForFunction((n) => window.__echo.got.length > n, times.length, { timeout: 10000 });
    const [drawn, ws, sinceFrame] = await page.evaluate(() => {
      const at = window.__wsAt, before = window.__frames.filter((x) => x <= at);
      return [window.__echo.got.at(-1), window.__echo.ws.at(-1), at !== undefined && before.length ? at - before.at(-1) : null];
    });
    times.push(drawn);
    wire.push(ws);
    afterFrame.push(sinceFrame);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The same round trip on a WebSocket of the page's own thread (a second
  // viewer of the console), sent by a timer, not a key: what the network
  // and the browser's message passing take when the page did not just
  // handle input.
  const timed = await page.evaluate(async ([token, keys]) => {
    const r = await fetch('/api/v1/vms/echo/console/ticket', {
      method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'serial' }),
    });
    const tk = await r.json();
    const ws = new WebSocket('wss://' + location.host + tk.path, ['binary', tk.protocol + tk.ticket]);
    ws.binaryType = 'arraybuffer';
    await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = () => bad(new Error('the second viewer did not connect')); });
    const out = [];
    for (let i = 0; i < keys; i++) {
      out.push(await new Promise((res) => setTimeout(() => {
        const t0 = performance.now();
        ws.onmessage = (e) => { if (new Uint8Array(e.data).includes(121)) res(performance.now() - t0); };
        ws.send(new TextEncoder().encode('y'));
      }, 17 * Math.random())));
      await new Promise((w) => setTimeout(w, 50));
    }
    ws.close();
    return out;
  }, [env('VDC_ADMIN_TOKEN'), KEYS]);
  await page.keyboard.press('Control+C');
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  say(`${KEYS} keys typed into /vms/echo/serial, keydown to echo drawn: ${times.map((x) => x.toFixed(1)).join(' ')} ms`);
  const direct = wire.filter((x) => x !== null);
  if (direct.length) {
    // The page's own WebSocket carried the echo (no cross-origin isolation).
    say(`of which keydown to the echo's WebSocket message: median ${pct(direct, 0.5).toFixed(1)} ms; the rest is xterm.js drawing it (its next animation frame)`);
    say(`echo messages handled within 2 ms after an animation frame: ${afterFrame.filter((x) => x !== null && x < 2).length} of ${KEYS} (by chance, at 60 frames a second: 12%; after a key, Chromium runs the message only once its next frame is made)`);
  } else {
    say('the echoes came through the console worker\'s shared ring, read at the start of each frame (ui/src/consoles/serial_ring.js)');
  }
  say(`the same round trip on a WebSocket of the page's thread, sent by a timer, no key: ${timed.map((x) => x.toFixed(1)).join(' ')} ms`);
  console.log(`figure serial_echo_ms ${pct(times, 0.5).toFixed(1)} ms`);
  if (direct.length) console.log(`figure serial_echo_ws_ms ${pct(direct, 0.5).toFixed(1)} ms`);
  console.log(`figure serial_ws_roundtrip_ms ${pct(timed, 0.5).toFixed(1)} ms`);
  console.log(`figure serial_echo_p95_ms ${pct(times, 0.95).toFixed(1)} ms`);
  console.log(`figure serial_echo_max_ms ${Math.max(...times).toFixed(1)} ms`);
} finally {
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
