// live.js - the UI's one live connection: vdcd's server-sent events
// (GET /api/v1/stream), read with fetch() and a stream reader because
// EventSource cannot send the Authorization header (and the token never
// goes in a URL). Pages subscribe to its events; it reconnects with
// Last-Event-ID and a growing, jittered delay, and says how it is doing
// in `liveStatus` (connecting, live, reconnecting, off). Pages that poll
// while it is down use `liveUp()`.
import { useEffect, useRef, useState } from 'preact/hooks';
import { getSession, onSession, get } from './api.js';
import { signal, useSignal } from './state.js';

export const liveStatus = signal('off');

const subs = new Set();
let ctrl = null;      // the running fetch's AbortController
let timer = null;     // the reconnect timer
let gen = 0;          // bumped on stop: a late reader of an old stream is ignored
let lastId = null;    // the last event id seen, for Last-Event-ID
let failures = 0;     // reconnects in a row without a hello
let token = null;     // the token the stream was opened with

export function liveUp() { return liveStatus.value === 'live'; }

// Resolves once the stream is up (or has failed, or ms have passed). The
// sign-in page waits for it before it shows the first page: what that page
// reads is then covered by the stream, so it is not read again when the
// stream comes up (a second round of every request, 70 to 100 ms of the
// first load in bench/ui). The stream answers in a few ms.
export function liveSettled(ms = 400) {
  const settled = () => liveStatus.value === 'live' || liveStatus.value === 'reconnecting';
  if (settled()) return Promise.resolve();
  return new Promise((resolve) => {
    let un = null;
    const tm = setTimeout(() => { un(); resolve(); }, ms);
    un = liveStatus.subscribe(() => { if (settled()) { clearTimeout(tm); un(); resolve(); } });
  });
}

// fn(name, data) for every event; returns the unsubscribe.
export function onLive(fn) { subs.add(fn); return () => subs.delete(fn); }

// A component's subscription; the handler may close over fresh state.
export function useLive(handler) {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => onLive((n, d) => ref.current(n, d)), []);
}

function emit(name, data) {
  subs.forEach((fn) => {
    try { fn(name, data); } catch (e) { console.warn('live subscriber', e); } // eslint-disable-line no-console
  });
}

function stop() {
  gen++;
  if (ctrl) ctrl.abort();
  ctrl = null;
  clearTimeout(timer);
  timer = null;
  lastId = null;
  failures = 0;
  token = null;
  liveStatus.value = 'off';
}

function start() {
  const s = getSession();
  if (!s) { stop(); return; }
  if (token === s.token && (ctrl || timer)) return;
  stop();
  token = s.token;
  connect(gen);
}

// After a failure: 1, 2, 4 ... 30 s (at least what vdcd's retry says, or
// its Retry-After), with jitter so that many tabs do not come back at once.
let retryMs = 1000;
function schedule(my, atLeastMs) {
  if (my !== gen) return;
  ctrl = null;
  failures++;
  liveStatus.value = 'reconnecting';
  const base = Math.min(30000, Math.max(retryMs, atLeastMs || 0, 1000 * 2 ** Math.min(failures - 1, 5)));
  timer = setTimeout(() => { timer = null; connect(my); }, base * (0.75 + Math.random() * 0.5));
}

async function connect(my) {
  const s = getSession();
  if (my !== gen || !s) return;
  if (liveStatus.value === 'off') liveStatus.value = 'connecting';
  ctrl = new AbortController();
  const headers = { Authorization: 'Bearer ' + s.token, Accept: 'text/event-stream' };
  if (lastId) headers['Last-Event-ID'] = lastId;
  let res;
  try {
    res = await fetch('/api/v1/stream', { headers, signal: ctrl.signal, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    schedule(my);
    return;
  }
  if (my !== gen) return;
  if (res.status === 401) {
    // The token is revoked or expired: the API module finds out on this
    // call and signs out, which stops this. Should the token still be
    // good, try again later.
    ctrl = null;
    liveStatus.value = 'reconnecting';
    get('/api/v1/auth/whoami').then(() => schedule(my), () => {});
    return;
  }
  if (!res.ok || !res.body) {
    const after = parseInt(res.headers.get('Retry-After') || '', 10);
    schedule(my, after > 0 ? after * 1000 : 0);
    return;
  }
  try {
    await read(res.body, my);
  } catch (e) { /* the connection broke: reconnect */ }
  schedule(my);
}

// The SSE format (html.spec.whatwg.org, "event stream interpretation"):
// lines of "field: value", an empty line ends an event, ":" a comment.
async function read(body, my) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ev = { name: '', data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (my !== gen) { reader.cancel().catch(() => {}); return; }
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (ev.id !== null) lastId = ev.id;
        if (ev.data.length) dispatch(ev.name || 'message', ev.data.join('\n'));
        ev = { name: '', data: [], id: null };
        continue;
      }
      if (line[0] === ':') continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let val = c < 0 ? '' : line.slice(c + 1);
      if (val[0] === ' ') val = val.slice(1);
      if (field === 'event') ev.name = val;
      else if (field === 'data') ev.data.push(val);
      else if (field === 'id') ev.id = val;
      else if (field === 'retry' && /^\d+$/.test(val)) retryMs = Math.min(+val, 30000);
    }
  }
}

function dispatch(name, text) {
  let data = null;
  try { data = JSON.parse(text); } catch (e) { return; }
  if (name === 'hello') {
    failures = 0;
    liveStatus.value = 'live';
  }
  // "end": vdcd closes the stream (the token is no longer good); the
  // reconnect finds out why.
  emit(name, data);
}

onSession((s) => (s ? start() : stop()));
start();

export function useLiveStatus() { return useSignal(liveStatus); }

// A VM's power state or a host's state as the stream last told it, or
// `initial` (what the page read) until it tells something.
export function useLiveState(kind, id, initial) {
  const [state, setState] = useState(initial);
  useEffect(() => setState(initial), [initial, id]);
  useLive((name, d) => {
    if (!d || d.id !== id) return;
    if (kind === 'vm' && name === 'vm.state' && d.power_state) setState(d.power_state);
    else if (kind === 'vm' && name === 'vm.updated' && d.doc && d.doc.power_state) setState(d.doc.power_state);
    else if (kind === 'host' && name === 'host.updated' && d.doc && d.doc.state) setState(d.doc.state);
  });
  return state;
}

// Calls fn on every event matching `match`, at most once per `ms` (a
// burst of events is one reload), and every `pollMs` while the stream is
// down, and once when it comes back (what was missed while down).
export function useLiveReload(fn, match, pollMs = 3000, ms = 300) {
  const ref = useRef(fn);
  ref.current = fn;
  const status = useLiveStatus();
  const pending = useRef(null);
  useLive((name, d) => {
    if (name !== 'reset' && !match(name, d)) return;
    if (pending.current) return;
    pending.current = setTimeout(() => { pending.current = null; ref.current(); }, ms);
  });
  useEffect(() => () => clearTimeout(pending.current), []);
  const was = useRef(status);
  useEffect(() => {
    if (status === 'live' && was.current !== 'live' && was.current !== 'off') ref.current();
    was.current = status;
    if (status === 'live' || !pollMs) return undefined;
    const iv = setInterval(() => ref.current(), pollMs);
    return () => clearInterval(iv);
  }, [status]);
}
