// serial.js - the serial console's terminal: xterm.js on a WebSocket to
// vdcd's proxy (the bytes of the guest's ttyS0 both ways). Loaded by
// import() when a serial console opens, so neither xterm.js nor its CSS is
// in the first page's code.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { installCspStyles } from './csp_styles.js';
import { ringBuffer, ringView, ringRead } from './serial_ring.js';

installCspStyles();

// Opens a terminal in el on the stream at url (the ticket in protocols).
// on.state(s) hears 'connecting', 'connected' and 'closed'. Returns
// { send(text), focus(), close() }.
export function openSerial(el, url, protocols, on) {
  const small = el.clientWidth < 600;
  const term = new Terminal({
    fontSize: small ? 12 : 14,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    cursorBlink: true,
    scrollback: 5000,
    convertEol: false,
    theme: { background: '#111418', foreground: '#e6e6e6' },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  const refit = () => { try { fit.fit(); } catch (e) { /* not laid out yet */ } };
  refit();
  const ro = new ResizeObserver(refit);
  ro.observe(el);

  const enc = new TextEncoder();
  const link = self.crossOriginIsolated ? ringLink(term, url, protocols, on) : directLink(term, url, protocols, on);
  const send = (text) => link.send(enc.encode(text));
  term.onData(send);
  term.onBinary((s) => link.send(Uint8Array.from(s, (c) => c.charCodeAt(0) & 255)));
  term.focus();
  return {
    send,
    focus: () => term.focus(),
    close() { ro.disconnect(); link.close(); term.dispose(); },
  };
}

// The WebSocket on the page's own thread: where the page is not
// cross-origin isolated (no SharedArrayBuffer).
function directLink(term, url, protocols, on) {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = 'arraybuffer';
  on.state('connecting');
  ws.onopen = () => on.state('connected');
  // The guest's bytes as they come: xterm.js decodes UTF-8 across messages.
  ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
  ws.onclose = () => on.state('closed');
  return {
    send(bytes) { if (ws.readyState === WebSocket.OPEN) ws.send(bytes); },
    close() { ws.onclose = null; ws.close(); },
  };
}

// The WebSocket in a worker that puts the guest's bytes in a shared ring
// (serial_ring.js). The page takes them when the worker says so and, for
// a few frames after each key, at the start of every frame: after a key
// Chromium runs the worker's message only once its next frame is made, and
// the echo read then would be drawn one frame (16.7 ms) later. Read in the
// frame's animation callback and drawn at once, it shows in that frame.
const FRAMES_AFTER_KEY = 12;

function ringLink(term, url, protocols, on) {
  const sab = ringBuffer();
  const ring = ringView(sab);
  const worker = new Worker(new URL('./serial_worker.js', import.meta.url), { type: 'module' });
  let frames = 0, raf = 0, closed = false;
  const take = () => {
    const b = ringRead(ring);
    if (b) term.write(b);
    return !!b;
  };
  const onFrame = () => {
    raf = 0;
    if (closed) return;
    if (take()) drawNow(term);
    if (--frames > 0) raf = requestAnimationFrame(onFrame);
  };
  on.state('connecting');
  worker.onmessage = (e) => {
    if (closed) return;
    if (e.data === 'wake') take();
    else if (e.data.state) on.state(e.data.state);
  };
  worker.onerror = () => { if (!closed) on.state('closed'); };
  worker.postMessage({ open: { url, protocols, sab } });
  return {
    send(bytes) {
      worker.postMessage({ send: bytes });
      frames = FRAMES_AFTER_KEY;
      if (!raf) raf = requestAnimationFrame(onFrame);
    },
    close() {
      closed = true;
      cancelAnimationFrame(raf);
      worker.postMessage({ close: true });
    },
  };
}

// Draws what xterm.js has been given now, in this frame, rather than in
// the animation frame it asked for (the next one, when asked from inside
// an animation callback). xterm.js has no public call for it: this uses
// its render debouncer (xterm 6, pinned by the lockfile) and does nothing
// if that is not there, so the terminal then draws a frame later.
function drawNow(term) {
  const d = term._core && term._core._renderService && term._core._renderService._renderDebouncer;
  if (!d || typeof d._innerRefresh !== 'function' || !d._animationFrame) return;
  cancelAnimationFrame(d._animationFrame);
  d._innerRefresh();
}
