// A host's power through its BMC (system administrators): the state the
// BMC reported last and when, buttons for status, on, off and cycle (each
// a host.power task, followed until it ends), and the form that sets the
// power driver (IPMI: address, port, user, password) or clears it. The
// password is write-only: the form never shows one, and leaving it empty
// keeps the one vdcd has. Off and cycle of a host that runs VMs are
// refused with the API's reason; "Force" then does it anyway.
import { useState } from 'preact/hooks';
import { post, put, del, enc, waitTask } from '../api.js';
import { ErrorText, Field, Notice } from '../components.jsx';
import { t } from '../i18n/index.js';

function blank(p) {
  return {
    address: (p && p.address) || '',
    port: String((p && p.port) || 623),
    username: (p && p.username) || '',
    password: '',
    cipher_suite: String(p && p.cipher_suite !== undefined ? p.cipher_suite : 3),
    timeout_s: String((p && p.timeout_s) || 10),
  };
}

// The form as a request body: numbers as numbers (vdcd names a bad one),
// no password when none was typed (the stored one stays).
function body(f) {
  const num = (v) => (v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);
  const b = { driver: 'ipmi', address: f.address.trim(), port: num(f.port), username: f.username,
    cipher_suite: num(f.cipher_suite), timeout_s: num(f.timeout_s) };
  if (f.password) b.password = f.password;
  return b;
}

function DriverForm({ host, onDone }) {
  const p = host.power;
  const [form, setForm] = useState(blank(p));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const path = '/api/v1/hosts/' + enc(host.id) + '/power-driver';
  async function save(e) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await put(path, body(form));
      setForm({ ...form, password: '' });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  async function clear() {
    setError(null);
    try {
      await del(path);
      setForm(blank(null));
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form onSubmit={save} data-testid="power-driver-form" autocomplete="off">
      <h3>{t('power.driver')}</h3>
      <div class="row">
        <Field label={t('power.address')} id="pd-address" hint={t('power.address_hint')}>
          <input id="pd-address" required maxLength={253} value={form.address} onInput={set('address')} aria-describedby="pd-address-hint" />
        </Field>
        <Field label={t('power.port')} id="pd-port">
          <input id="pd-port" inputmode="numeric" value={form.port} onInput={set('port')} />
        </Field>
        <Field label={t('power.username')} id="pd-user">
          <input id="pd-user" required maxLength={16} value={form.username} onInput={set('username')} autocomplete="off" />
        </Field>
        <Field label={t('power.password')} id="pd-password" hint={p ? t('power.password_keep') : t('power.password_hint')}>
          <input id="pd-password" type="password" maxLength={20} value={form.password} onInput={set('password')}
            required={!p} autocomplete="new-password" aria-describedby="pd-password-hint" />
        </Field>
        <Field label={t('power.cipher_suite')} id="pd-cipher" hint={t('power.cipher_hint')}>
          <input id="pd-cipher" inputmode="numeric" value={form.cipher_suite} onInput={set('cipher_suite')} aria-describedby="pd-cipher-hint" />
        </Field>
        <Field label={t('power.timeout')} id="pd-timeout">
          <input id="pd-timeout" inputmode="numeric" value={form.timeout_s} onInput={set('timeout_s')} />
        </Field>
      </div>
      <button type="submit" class="primary" disabled={busy} data-testid="power-driver-save">{t('power.save')}</button>
      {p ? <button type="button" onClick={clear} data-testid="power-driver-clear">{t('power.clear')}</button> : null}
      <ErrorText error={error} />
    </form>
  );
}

export function HostPower({ host, onDone }) {
  const p = host.power;
  const [task, setTask] = useState(null);
  const [error, setError] = useState(null);
  const [refused, setRefused] = useState(null); // the action refused for the VMs it would stop
  const [busy, setBusy] = useState(false);

  async function act(action, force) {
    setError(null);
    setRefused(null);
    setTask(null);
    setBusy(true);
    try {
      const r = await post('/api/v1/hosts/' + enc(host.id) + '/power', force ? { action, force: true } : { action });
      setTask(await waitTask(r.task.id, setTask, 120000));
    } catch (e) {
      setError(e);
      if (e.code === 'host_has_vms') setRefused(action);
    } finally {
      setBusy(false);
      onDone();
    }
  }
  const ended = task && ['succeeded', 'failed', 'cancelled'].includes(task.state);
  const state = p ? p.state || 'unknown' : null;
  return (
    <section aria-labelledby="power-title" data-testid="host-power">
      <h2 id="power-title">{t('power.title')}</h2>
      {p ? (
        <>
          <p data-testid="power-state">
            {t('power.state')}: <span class={'badge state-' + (state === 'on' ? 'running' : state === 'off' ? 'stopped' : 'unknown')}>{t('power.state_' + state)}</span>{' '}
            <span class="muted">
              {p.checked_at ? t('power.checked', { at: new Date(p.checked_at).toLocaleString() }) : t('power.never')}
              {' · '}{p.driver} {p.address}:{p.port} ({p.username})
            </span>
          </p>
          {p.error ? <Notice kind="bad" text={t('power.last_error', { message: p.error.message })} /> : null}
          <p class="muted">{t('power.hint')}</p>
          <div class="actions">
            <button type="button" disabled={busy} onClick={() => act('status')} data-testid="power-status">{t('power.status')}</button>
            <button type="button" disabled={busy} onClick={() => act('on')} data-testid="power-on">{t('power.on')}</button>
            <button type="button" class="danger" disabled={busy} onClick={() => act('off')} data-testid="power-off">{t('power.off')}</button>
            <button type="button" class="danger" disabled={busy} onClick={() => act('cycle')} data-testid="power-cycle">{t('power.cycle')}</button>
          </div>
        </>
      ) : (
        <p class="muted" data-testid="power-none">{t('power.none')}</p>
      )}
      <ErrorText error={error} />
      {refused ? (
        <button type="button" class="danger" disabled={busy} onClick={() => act(refused, true)} data-testid="power-force">
          {t('power.force', { action: t('power.' + refused) })}
        </button>
      ) : null}
      {task && !ended ? <p aria-live="polite" data-testid="power-progress">{task.message}</p> : null}
      {ended && task.state === 'succeeded' ? (
        <p class="good" data-testid="power-result">{task.result && task.result.message}</p>
      ) : null}
      {ended && task.state !== 'succeeded' ? (
        <p class="bad" role="alert" data-testid="power-result">{(task.error && task.error.message) || task.message}</p>
      ) : null}
      <DriverForm host={host} onDone={onDone} />
    </section>
  );
}
