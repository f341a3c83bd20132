// api.js - the one way the UI talks to vdcd: its public REST API, with the
// signed-in token in the Authorization header (never in a URL). The token
// lives in sessionStorage (this tab only, gone when it closes) and is
// dropped on the first 401 or once it expires, which sends the UI back to
// the sign-in page.
const KEY = 'vdc.session';

let session = load();
const listeners = new Set();

function load() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && s.token && (!s.expires_at || Date.parse(s.expires_at) > Date.now())) return s;
  } catch (e) { /* a damaged entry is no session */ }
  sessionStorage.removeItem(KEY);
  return null;
}

export function getSession() { return session; }

export function onSession(fn) { listeners.add(fn); return () => listeners.delete(fn); }

function setSession(s) {
  session = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(s));
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || 'http_' + status;
    this.field = err.field;
    this.detail = err;
  }
}

let expiryTimer = null;
function armExpiry(s) {
  clearTimeout(expiryTimer);
  if (s && s.expires_at) {
    const ms = Date.parse(s.expires_at) - Date.now();
    // setTimeout takes at most ~24.8 days; longer tokens are checked on use.
    if (ms < 2 ** 31 - 1) expiryTimer = setTimeout(() => signOut(true), Math.max(ms, 0));
  }
}
armExpiry(session);

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (session) headers.Authorization = 'Bearer ' + session.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (res.status === 401 && session) {
    setSession(null);
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);
export const del = (p) => api('DELETE', p);
export const put = (p, b) => api('PUT', p, b);

// Signs in with a password (a login token named for the UI) or with an
// existing API token; either way whoami tells who it is and the roles.
export async function signIn({ user, password, token }) {
  let t = token, expires = null;
  if (!t) {
    // A token name of its own per sign-in: signing in on a phone does not
    // replace (sign out) the desktop's session. Sign-out revokes it; an
    // abandoned one expires in 12 hours.
    const tag = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');
    const res = await api('POST', '/api/v1/auth/login', { user, password, token_name: 'web-ui-' + tag, ttl_s: 43200 });
    t = res.token;
    expires = res.expires_at || null;
  }
  const who = await fetch('/api/v1/auth/whoami', { headers: { Authorization: 'Bearer ' + t }, cache: 'no-store' });
  const body = await who.json().catch(() => null);
  if (!who.ok) throw new ApiError(who.status, body);
  // A login token the UI made is revoked at sign-out; a pasted API token
  // is the user's to keep.
  const s = { token: t, expires_at: expires || (body.token && body.token.expires_at) || null, who: body,
    revoke: !token && body.token ? body.token.id : null };
  setSession(s);
  armExpiry(s);
  return s;
}

export function signOut(expired) {
  clearTimeout(expiryTimer);
  if (!expired && session && session.revoke) {
    // Best effort, and it outlives the page: the token stops working now,
    // not in 12 hours.
    fetch('/api/v1/tokens/' + encodeURIComponent(session.revoke), {
      method: 'DELETE', headers: { Authorization: 'Bearer ' + session.token }, keepalive: true, credentials: 'omit',
    }).catch(() => {});
  }
  setSession(null);
  if (expired) sessionStorage.setItem('vdc.expired', '1');
}

export const enc = encodeURIComponent;

// Follows a task until it ends; resolves with it (failed ones too).
export async function waitTask(id, onUpdate, timeoutMs = 300000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const t = await get('/api/v1/tasks/' + enc(id));
    if (onUpdate) onUpdate(t);
    if (t.state === 'succeeded' || t.state === 'failed' || t.state === 'cancelled') return t;
    if (Date.now() > until) return t;
    await new Promise((r) => setTimeout(r, 700));
  }
}
