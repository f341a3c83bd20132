// router.js - client-side pages on real paths (/vms/web-1): vdcd answers
// any non-API path with index.html, so a reload or a shared link works.
import { signal } from './state.js';

export const path = signal(location.pathname + location.search);

export function navigate(to, replace) {
  if (to === path.value) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  path.value = to;
  window.scrollTo(0, 0);
}

addEventListener('popstate', () => { path.value = location.pathname + location.search; });

// Matches "/vms/:id" against "/vms/web-1" -> {id: "web-1"}, or null.
export function match(pattern, p) {
  const [pathOnly] = p.split('?');
  const a = pattern.split('/'), b = pathOnly.split('/');
  if (a.length !== b.length) return null;
  const params = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) params[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}

// A link that navigates in place (a plain <a>, so keyboard and
// middle-click behave as users expect).
export function onLinkClick(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = e.currentTarget.getAttribute('href');
  if (!href || !href.startsWith('/')) return;
  e.preventDefault();
  navigate(href);
}
