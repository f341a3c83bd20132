// serial.js - the serial console's terminal: xterm.js on a WebSocket to
// vdcd's proxy (the bytes of the guest's ttyS0 both ways). Loaded by
// import() when a serial console opens, so neither xterm.js nor its CSS is
// in the first page's code.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { installCspStyles } from './csp_styles.js';

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
  const ws = new WebSocket(url, protocols);
  ws.binaryType = 'arraybuffer';
  on.state('connecting');
  ws.onopen = () => on.state('connected');
  // The guest's bytes as they come: xterm.js decodes UTF-8 across messages.
  ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
  ws.onclose = () => on.state('closed');
  const send = (text) => { if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(text)); };
  term.onData(send);
  term.onBinary((s) => { if (ws.readyState === WebSocket.OPEN) ws.send(Uint8Array.from(s, (c) => c.charCodeAt(0) & 255)); });
  term.focus();
  return {
    send,
    focus: () => term.focus(),
    close() { ro.disconnect(); ws.onclose = null; ws.close(); term.dispose(); },
  };
}
