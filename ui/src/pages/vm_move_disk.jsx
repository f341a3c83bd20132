// Storage migration: the VM's disk moves to another datastore of its host,
// while the guest runs or not. The datastores are the host's (a list when the
// host can be read, else typed); the copy's progress shows as a bar until
// the task ends, and Cancel stops it before the switch.
import { useEffect, useState } from 'preact/hooks';
import { get, post, enc, waitTask } from '../api.js';
import { Field, ErrorText, isAdmin } from '../components.jsx';
import { t } from '../i18n/index.js';

const MiB = 1024 * 1024;

export function MoveDisk({ vm, onDone }) {
  const here = (vm.config && vm.config.datastore) || 'local';
  const [stores, setStores] = useState(null);
  const [to, setTo] = useState('');
  const [bw, setBw] = useState('');
  const [error, setError] = useState(null);
  const [task, setTask] = useState(null);
  const [live, setLive] = useState(null);
  const [end, setEnd] = useState(null);
  useEffect(() => {
    // Only administrators read hosts; others type the datastore's name.
    if (!isAdmin()) return;
    get('/api/v1/hosts/' + enc(vm.host_id)).then(
      (h) => setStores((h.datastores || []).map((d) => d.name).filter((n) => n !== here)),
      () => setStores(null));
  }, [vm.host_id, here]);

  async function move(e) {
    e.preventDefault();
    setError(null);
    setEnd(null);
    setLive(null);
    const body = { datastore: to || (stores && stores[0]) || '' };
    if (bw) body.bandwidth_mib_s = Number(bw);
    try {
      const r = await post('/api/v1/vms/' + enc(vm.id) + '/disks/root/move', body);
      setTask(r.task.id);
      setEnd(await waitTask(r.task.id, (tk) => setLive(tk.live || null)));
    } catch (err) {
      setError(err);
    } finally {
      setTask(null);
      onDone();
    }
  }
  async function cancel() {
    try { await post('/api/v1/tasks/' + enc(task) + '/cancel', {}); } catch (err) { setError(err); }
  }
  const pct = live && live.total_bytes ? Math.round((100 * live.done_bytes) / live.total_bytes) : 0;
  return (
    <form onSubmit={move} aria-labelledby="move-disk-title" data-testid="move-disk">
      <h2 id="move-disk-title">{t('move_disk.title')}</h2>
      <p class="muted">{t('move_disk.hint', { here })}</p>
      <div class="row">
        <Field label={t('move_disk.to')} id="md-to">
          {stores ? (
            <select id="md-to" value={to} onChange={(e) => setTo(e.currentTarget.value)} data-testid="move-disk-to">
              {stores.map((n) => <option value={n}>{n}</option>)}
            </select>
          ) : (
            <input id="md-to" value={to} onInput={(e) => setTo(e.currentTarget.value)} data-testid="move-disk-to" required />
          )}
        </Field>
        <Field label={t('move_disk.bandwidth')} id="md-bw">
          <input id="md-bw" type="number" min="1" value={bw} onInput={(e) => setBw(e.currentTarget.value)} />
        </Field>
      </div>
      <button type="submit" disabled={!!task || (stores && !stores.length)} data-testid="move-disk-go">{t('move_disk.go')}</button>
      {task ? <button type="button" onClick={cancel} data-testid="move-disk-cancel">{t('move_disk.cancel')}</button> : null}
      {stores && !stores.length ? <p class="muted">{t('move_disk.no_other')}</p> : null}
      <ErrorText error={error} />
      {task && live ? (
        <p data-testid="move-disk-progress">
          <progress max="100" value={pct} aria-label={t('move_disk.progress')} />{' '}
          {t('move_disk.copied', { done: Math.round(live.done_bytes / MiB), total: Math.round(live.total_bytes / MiB), phase: live.phase })}
        </p>
      ) : null}
      {end && end.state === 'succeeded' ? <p class="good" data-testid="move-disk-result">{t('move_disk.done', { from: end.result.from_datastore, to: end.result.datastore })}</p> : null}
      {end && end.state !== 'succeeded' ? <p class="bad" data-testid="move-disk-result">{(end.error && end.error.message) || end.message}</p> : null}
    </form>
  );
}
