// Slots for pages other work fills in: the consoles (noVNC, xterm.js over
// vdcd's WebSocket proxies), the live task view (server-sent events) and
// the charts (metrics history). Each keeps its route so that links to it
// work today. Whoever fills one should import() its libraries from here,
// so that they load only when the page opens.
import { useEffect, useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { Link, ErrorText } from '../components.jsx';
import { t } from '../i18n/index.js';

export function ConsoleSlot({ id }) {
  return (
    <section>
      <h1>{t('slot.console')}</h1>
      <p>{t('slot.console_body')}</p>
      <p><Link href={'/vms/' + enc(id)}>{t('slot.back')}</Link></p>
    </section>
  );
}

export function ChartsSlot({ id }) {
  return (
    <section>
      <h1>{t('slot.charts')}</h1>
      <p>{t('slot.charts_body')}</p>
    </section>
  );
}

// Until the live view: the latest tasks, read once.
export function TasksSlot() {
  const [tasks, setTasks] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { get('/api/v1/tasks?order=desc&limit=50').then((r) => setTasks(r.items), setError); }, []);
  return (
    <section>
      <h1>{t('nav.tasks')}</h1>
      <p class="muted">{t('slot.tasks_body')}</p>
      <ErrorText error={error} />
      {tasks ? (
        <table>
          <thead><tr><th scope="col">{t('tasks.op')}</th><th scope="col">{t('tasks.state')}</th><th scope="col">{t('tasks.message')}</th><th scope="col">{t('tasks.created')}</th></tr></thead>
          <tbody>
            {tasks.map((tk) => (
              <tr><td class="mono">{tk.op}</td><td><span class={'badge task-' + tk.state}>{t('taskstate.' + tk.state)}</span></td><td>{tk.error ? tk.error.message : tk.message}</td><td>{tk.created_at}</td></tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
