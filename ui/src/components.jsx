// Small pieces every page uses: links, messages, confirmation, fields.
import { useEffect, useRef, useState } from 'preact/hooks';
import { onLinkClick } from './router.js';
import { t, lang } from './i18n/index.js';
import { getSession } from './api.js';

export function Link({ href, children, onClick, ...rest }) {
  const click = (e) => { if (onClick) onClick(e); onLinkClick(e); };
  return <a href={href} onClick={click} {...rest}>{children}</a>;
}

// An error as the user should read it: vdcd's message, said plainly where
// its code needs it (a power-on that HA's admission control refused).
export function errorMessage(error) {
  const msg = error.message || String(error);
  return error.code === 'ha_admission' ? t('ha.admission_refused', { message: msg }) : msg;
}

export function ErrorText({ error }) {
  if (!error) return null;
  return <p class="error" role="alert">{errorMessage(error)}</p>;
}

export function Notice({ text, kind }) {
  if (!text) return null;
  return <p class={'notice ' + (kind || '')} role="status">{text}</p>;
}

// A modal confirmation (the browser's <dialog>: focus trapped, Escape
// closes it).
export function Confirm({ open, title, body, confirmLabel, onConfirm, onCancel, danger }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h2 id="confirm-title">{title}</h2>
      <p>{body}</p>
      <div class="actions">
        <button type="button" onClick={onCancel}>{t('common.cancel')}</button>
        <button type="button" class={danger ? 'danger' : 'primary'} onClick={onConfirm} data-testid="confirm">{confirmLabel}</button>
      </div>
    </dialog>
  );
}

export function Field({ label, id, children, hint }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint ? <small id={id + '-hint'}>{hint}</small> : null}
    </div>
  );
}

// Loads once per key; returns [data, error, reload].
export function useLoad(fn, deps) {
  const [state, set] = useState({ data: null, error: null });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    fn().then((data) => live && set({ data, error: null }), (error) => live && set({ data: null, error }));
    return () => { live = false; };
  }, [...deps, n]);
  return [state.data, state.error, () => setN((x) => x + 1)];
}

// What the signed-in user may do: administrators everything; members by
// their role in the object's project (operator and admin change things).
export function canWrite(projectId) {
  const s = getSession();
  if (!s) return false;
  const who = s.who;
  if (who.user && who.user.admin) return true;
  return (who.projects || []).some((m) => (projectId == null || m.project_id === projectId) && (m.role === 'operator' || m.role === 'admin'));
}

export function isAdmin() {
  const s = getSession();
  return !!(s && s.who.user && s.who.user.admin);
}

export function mib(n) {
  if (n == null) return '-';
  return n >= 1024 ? (n / 1024).toFixed(n % 1024 ? 1 : 0) + ' GiB' : n + ' MiB';
}

export function bytes(n) {
  if (n == null) return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

export function StateBadge({ state }) {
  return <span class={'badge state-' + (state || 'unknown')}>{t('state.' + (state || 'unknown'))}</span>;
}

// A time as the reader's locale writes it; the ISO form on hover.
export function When({ iso }) {
  if (!iso) return '-';
  const d = new Date(iso);
  return <time dateTime={iso} title={iso}>{isNaN(d) ? iso : d.toLocaleString(lang.value)}</time>;
}

// HA's verdict on a host (clusters with HA on): connected in green, failed
// in red, isolated, silent, unknown and fencing in amber; the reason on
// hover, and (where the page does not show it beside the badge) for screen
// readers too.
export function HaBadge({ ha, srReason }) {
  if (!ha || !ha.state) return null;
  return (
    <span class={'badge ha-' + ha.state} title={ha.reason || undefined} data-testid="ha-badge" data-state={ha.state}>
      {t('ha.badge', { state: t('ha.state.' + ha.state) })}
      {srReason && ha.reason ? <span class="sr-only">{': ' + ha.reason}</span> : null}
    </span>
  );
}
