// Tasks and events, live: the latest tasks with their progress as the
// stream tells it (task.created, task.progress, task.ended), one task
// followed to its end, cancel where the operation allows it, and the audit
// log (administrators) as event.created arrives.
import { useEffect, useState } from 'preact/hooks';
import { get, post, enc } from '../api.js';
import { Link, ErrorText, Notice, When, canWrite, isAdmin } from '../components.jsx';
import { useLive, useLiveReload } from '../live.js';
import { t } from '../i18n/index.js';

const ENDED = ['succeeded', 'failed', 'cancelled'];

// What the API cancels (POST /tasks/{id}/cancel): a queued task always; a
// running one only for an image import or a VM create before its host is
// asked to make it (vdcd answers 409 cannot_cancel, saying why, past that
// point; the page shows its message). Operators of the task's project.
export function cancellable(tk) {
  if (!tk || ENDED.includes(tk.state)) return false;
  const may = tk.project_id ? canWrite(tk.project_id) : isAdmin();
  if (!may) return false;
  return tk.state === 'queued' || (tk.state === 'running' && (tk.op === 'image.import' || tk.op === 'vm.create'));
}

// The target by its name when the task kept it (vdcd does since it keeps
// target_name), else its kind and the start of its id.
function targetLabel(tk) {
  const name = tk.target_name || (tk.args && tk.args.name);
  return name ? tk.target_kind + ' ' + name : tk.target_kind + ' ' + String(tk.target_id).slice(0, 8);
}

function targetHref(tk) {
  if (tk.target_kind === 'vm') return '/vms/' + enc(tk.target_id);
  if (tk.target_kind === 'image') return '/objects/images/' + enc(tk.target_id);
  return null;
}

export function TaskState({ tk }) {
  return <span class={'badge task-' + tk.state} data-testid="task-state">{t('taskstate.' + tk.state)}</span>;
}

export function TaskProgress({ tk }) {
  return (
    <span class="task-progress">
      <progress class="task-bar" max="100" value={tk.progress || 0} data-testid="task-progress"
        aria-label={t('live.progress_of', { op: tk.op, percent: tk.progress || 0 })} />
      <span>{(tk.progress || 0) + '%'}</span>
    </span>
  );
}

function useCancel(onDone) {
  const [notice, setNotice] = useState(null);
  const [busy, setBusy] = useState(null);
  async function cancel(tk) {
    setBusy(tk.id);
    try {
      const r = await post('/api/v1/tasks/' + enc(tk.id) + '/cancel');
      setNotice({ text: r.message || t('live.cancel_asked', { op: tk.op }), kind: 'good' });
      if (r.task) onDone(r.task);
    } catch (e) {
      setNotice({ text: t('live.cancel_refused', { message: e.message }), kind: 'bad' });
    }
    setBusy(null);
  }
  return [notice, busy, cancel];
}

function CancelButton({ tk, busy, cancel }) {
  if (!cancellable(tk)) return null;
  return (
    <button type="button" class="danger" data-testid="task-cancel" disabled={busy === tk.id}
      aria-label={t('live.cancel_label', { op: tk.op })} onClick={() => cancel(tk)}>{t('common.cancel')}</button>
  );
}

// Merges a task the stream told into a list, newest first.
function merge(list, doc) {
  const i = list.findIndex((x) => x.id === doc.id);
  if (i >= 0) {
    if ((list[i].version || 0) > (doc.version || 0)) return list;
    const copy = list.slice();
    copy[i] = doc;
    return copy;
  }
  return [doc].concat(list).slice(0, 100);
}

export function TasksPage() {
  const [tasks, setTasks] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get('/api/v1/tasks?order=desc&limit=50').then((r) => { setTasks(r.items); setError(null); }, setError);
  useEffect(() => { load(); }, []);
  // While the stream is down, and on its reset: read the list again.
  useLiveReload(load, () => false);
  useLive((name, d) => {
    if (!name.startsWith('task.') || !d || !d.doc) return;
    setTasks((old) => (old ? merge(old, d.doc) : old));
  });
  const [notice, busy, cancel] = useCancel((doc) => setTasks((old) => merge(old || [], doc)));
  return (
    <section>
      <h1>{t('nav.tasks')}</h1>
      <p class="muted">{t('live.tasks_body')}</p>
      <Notice text={notice && notice.text} kind={notice && notice.kind} />
      <ErrorText error={error} />
      {tasks && tasks.length === 0 ? <p class="muted">{t('live.no_tasks')}</p> : null}
      {tasks && tasks.length ? (
        <table data-testid="tasks">
          <thead><tr>
            <th scope="col">{t('tasks.op')}</th><th scope="col">{t('live.target')}</th><th scope="col">{t('tasks.state')}</th>
            <th scope="col">{t('live.progress')}</th><th scope="col">{t('tasks.message')}</th><th scope="col">{t('tasks.created')}</th>
            <th scope="col"><span class="sr-only">{t('common.actions')}</span></th>
          </tr></thead>
          <tbody>
            {tasks.map((tk) => {
              const href = targetHref(tk);
              return (
                <tr data-task={tk.id} data-op={tk.op}>
                  <td><Link class="mono" href={'/tasks/' + enc(tk.id)} aria-label={t('live.follow', { op: tk.op })}>{tk.op}</Link></td>
                  <td>{href ? <Link href={href}>{targetLabel(tk)}</Link> : tk.target_kind}</td>
                  <td><TaskState tk={tk} /></td>
                  <td><TaskProgress tk={tk} /></td>
                  <td>{tk.error ? tk.error.message : tk.message}</td>
                  <td><When iso={tk.created_at} /></td>
                  <td class="row-actions"><CancelButton tk={tk} busy={busy} cancel={cancel} /></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

// One task, followed to its end.
export function TaskPage({ id }) {
  const [tk, setTk] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get('/api/v1/tasks/' + enc(id)).then((x) => { setTk(x); setError(null); }, setError);
  useEffect(() => { load(); }, [id]);
  useLiveReload(load, () => false);
  useLive((name, d) => {
    if (name.startsWith('task.') && d && d.id === id && d.doc) setTk((old) => (!old || (old.version || 0) <= (d.doc.version || 0) ? d.doc : old));
  });
  const [notice, busy, cancel] = useCancel(setTk);
  if (error && !tk) return <section><h1>{t('live.task')}</h1><ErrorText error={error} /></section>;
  if (!tk) return <p class="muted">{t('common.loading')}</p>;
  const href = targetHref(tk);
  return (
    <section>
      <div class="page-head">
        <h1>{t('live.task')} <span class="mono">{tk.op}</span> <TaskState tk={tk} /></h1>
        <div class="links"><Link href="/tasks">{t('live.all_tasks')}</Link></div>
      </div>
      <Notice text={notice && notice.text} kind={notice && notice.kind} />
      <dl class="summary">
        <dt>{t('live.progress')}</dt><dd><TaskProgress tk={tk} /></dd>
        <dt>{t('tasks.message')}</dt><dd data-testid="task-message">{tk.error ? tk.error.message : tk.message}</dd>
        <dt>{t('live.target')}</dt><dd>{href ? <Link href={href}>{targetLabel(tk)}</Link> : tk.target_kind + ' ' + tk.target_id}</dd>
        <dt>{t('live.actor')}</dt><dd>{tk.actor}</dd>
        <dt>{t('tasks.created')}</dt><dd><When iso={tk.created_at} /></dd>
        {tk.started_at ? <><dt>{t('live.started')}</dt><dd><When iso={tk.started_at} /></dd></> : null}
        {tk.finished_at ? <><dt>{t('live.finished')}</dt><dd><When iso={tk.finished_at} /></dd></> : null}
        {tk.result ? <><dt>{t('live.result')}</dt><dd><code class="json">{JSON.stringify(tk.result, null, 1)}</code></dd></> : null}
        <dt>{t('vm.id')}</dt><dd class="mono">{tk.id}</dd>
      </dl>
      <div class="actions"><CancelButton tk={tk} busy={busy} cancel={cancel} /></div>
    </section>
  );
}

// The audit log (administrators), newest first, live.
export function EventsPage() {
  const [events, setEvents] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get('/api/v1/events?order=desc&limit=50').then((r) => { setEvents(r.items); setError(null); }, setError);
  useEffect(() => { load(); }, []);
  useLiveReload(load, () => false);
  useLive((name, d) => {
    if (name !== 'event.created' || !d || !d.doc) return;
    setEvents((old) => (old && !old.some((e) => e.id === d.doc.id) ? [d.doc].concat(old).slice(0, 200) : old));
  });
  return (
    <section>
      <h1>{t('live.events')}</h1>
      <p class="muted">{t('live.events_body')}</p>
      <ErrorText error={error} />
      {events ? (
        <table data-testid="events">
          <thead><tr>
            <th scope="col">{t('live.at')}</th><th scope="col">{t('live.actor')}</th><th scope="col">{t('live.action')}</th>
            <th scope="col">{t('live.target')}</th><th scope="col">{t('live.outcome')}</th><th scope="col">{t('live.detail')}</th>
          </tr></thead>
          <tbody>
            {events.map((e) => (
              <tr data-event={e.id}>
                <td><When iso={e.at} /></td><td>{e.actor || '-'}</td><td class="mono">{e.action}</td>
                <td>{e.target_kind === 'vm' && e.target_id ? <Link href={'/vms/' + enc(e.target_id)}>{e.target_kind}</Link> : (e.target_kind || '-')}</td>
                <td>{e.outcome ? <span class={'badge outcome-' + e.outcome}>{t('live.outcome_' + e.outcome)}</span> : '-'}</td>
                <td>{e.detail || ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
