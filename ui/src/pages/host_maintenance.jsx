// Maintenance of a host (system administrators). "Plan" shows where each
// running VM would go and placement's reason, or why the host cannot be
// emptied (the plan is refused whole); "Enter maintenance" empties it by
// live migration and shows how far the drain is (moved, moving where,
// waiting, what cannot move and why) until it ends; "Exit maintenance"
// returns it to the pool and stops a drain under way. A drain started
// elsewhere (the CLI) is followed when the page opens.
import { useEffect, useState } from 'preact/hooks';
import { get, post, enc, waitTask } from '../api.js';
import { ErrorText } from '../components.jsx';
import { t } from '../i18n/index.js';

function Plan({ plan }) {
  if (!plan) return null;
  return (
    <div data-testid="maint-plan">
      <p>{plan.reason}</p>
      {plan.moves && plan.moves.length ? (
        <table>
          <thead><tr><th scope="col">{t('maint.vm')}</th><th scope="col">{t('maint.to')}</th><th scope="col">{t('migrate.reason')}</th></tr></thead>
          <tbody>{plan.moves.map((m) => <tr><td>{m.vm}</td><td>{m.to}</td><td>{m.reason}</td></tr>)}</tbody>
        </table>
      ) : null}
      {plan.stays && plan.stays.length ? (
        <ul>{plan.stays.map((s) => <li>{t('maint.stays', { vm: s.vm, why: s.why })}</li>)}</ul>
      ) : null}
    </div>
  );
}

// The drain as it goes: the task's live figures.
function Progress({ task }) {
  const l = (task && task.live) || {};
  return (
    <div data-testid="maint-progress" aria-live="polite">
      <progress max="100" value={task ? task.progress : 0} aria-label={t('maint.progress')} />
      <p>{t('maint.moved', { moved: l.moved || 0, total: l.total || 0 })}</p>
      {(l.moving || []).length ? <p>{t('maint.moving')}: {l.moving.map((m) => m.vm + ' → ' + (m.to || '?')).join(', ')}</p> : null}
      {l.waiting ? <p>{t('maint.waiting', { n: l.waiting })}</p> : null}
      {(l.left || []).length ? (
        <ul class="bad">{l.left.map((x) => <li>{t('maint.left', { vm: x.vm, why: x.why })}</li>)}</ul>
      ) : null}
    </div>
  );
}

export function HostMaintenance({ host, onDone }) {
  const [plan, setPlan] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [task, setTask] = useState(null);
  const path = '/api/v1/hosts/' + enc(host.id) + '/maintenance';
  const draining = host.drain && host.drain.phase === 'draining';

  async function follow(id) {
    setBusy(true);
    try {
      setTask(await waitTask(id, setTask, 3600000));
    } finally {
      setBusy(false);
      onDone();
    }
  }
  useEffect(() => {
    if (draining && !busy) follow(host.drain.task_id).catch(setError);
  }, [host.id, draining]);

  async function check() {
    setError(null);
    setPlan(null);
    try {
      setPlan((await post(path + '?dry_run=true', { enabled: true })).plan);
    } catch (e) {
      setError(e);
      if (e.detail && e.detail.plan) setPlan(e.detail.plan);
    }
  }
  async function enter() {
    setError(null);
    setTask(null);
    try {
      const r = await post(path, { enabled: true });
      if (r.plan) setPlan(r.plan);
      if (r.task) await follow(r.task.id);
      else onDone();
    } catch (e) {
      setError(e);
      if (e.detail && e.detail.plan) setPlan(e.detail.plan);
    }
  }
  async function exit() {
    setError(null);
    try {
      await post(path, { enabled: false });
    } catch (e) {
      setError(e);
    }
    onDone();
  }
  const ended = task && ['succeeded', 'failed', 'cancelled'].includes(task.state);
  return (
    <section aria-labelledby="maint-title" data-testid="maintenance">
      <h2 id="maint-title">{t('maint.title')}</h2>
      <p class="muted">{t('maint.hint')}</p>
      {host.maintenance ? (
        <button type="button" onClick={exit} data-testid="maint-exit">{t('maint.exit')}</button>
      ) : (
        <>
          <button type="button" disabled={busy} onClick={check} data-testid="maint-check">{t('maint.check')}</button>
          <button type="button" disabled={busy} onClick={enter} data-testid="maint-enter">{t('maint.enter')}</button>
        </>
      )}
      <ErrorText error={error} />
      <Plan plan={plan} />
      {task ? <Progress task={task} /> : null}
      {ended && task.state === 'succeeded' ? (
        <p class="good" data-testid="maint-result">{t('maint.done', { moved: task.result.moved, total: task.result.total })}</p>
      ) : null}
      {ended && task.state !== 'succeeded' ? (
        <p class="bad" data-testid="maint-result">{(task.error && task.error.message) || task.message}</p>
      ) : null}
      {!task && host.drain && host.drain.phase !== 'draining' ? (
        <p data-testid="maint-last">{t('maint.last.' + host.drain.phase)}</p>
      ) : null}
    </section>
  );
}
