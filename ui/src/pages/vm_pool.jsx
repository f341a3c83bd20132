// A VM's resource pool (system administrators, as the API says): the pool
// it runs under (or its cluster's root) and what it reserves for itself,
// and a form to move it to another pool of its cluster or change those
// reservations. A move is a task (the host moves the VM's QEMU into the
// pool's cgroup), followed to its end; a change of reservations alone is
// answered at once. vdcd admits a running VM in its new pool and on its
// host first, and its refusal (naming the pool and the numbers) is shown.
import { useEffect, useState } from 'preact/hooks';
import { get, post, enc, waitTask } from '../api.js';
import { Field, ErrorText, Link, useLoad, mib } from '../components.jsx';
import { t } from '../i18n/index.js';
import { useLiveReload } from '../live.js';
import { treeOrder, intOr } from './pools_common.js';

export function VmPool({ vm, onDone }) {
  const cfg = vm.config || {};
  const here = vm.pool_id || '';
  const cpuNow = cfg.cpu_reservation_pct || 0, memNow = cfg.mem_reservation_mib || 0;
  const [view, loadErr, reload] = useLoad(() => get('/api/v1/clusters/' + enc(vm.cluster_id) + '/pools'), [vm.cluster_id]);
  useLiveReload(reload, (name) => name.startsWith('pool.'), 0);
  const [to, setTo] = useState(here);
  const [cpu, setCpu] = useState(String(cpuNow));
  const [mem, setMem] = useState(String(memNow));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [state, setState] = useState(null); // the move task's state while it runs
  const [result, setResult] = useState(null); // {ok, text}
  // The form starts from where the VM is now (after a move, or a change
  // made elsewhere).
  useEffect(() => { setTo(here); setCpu(String(cpuNow)); setMem(String(memNow)); }, [here, cpuNow, memNow]);
  const rows = view ? treeOrder(view.pools) : [];
  const nameOf = (pid) => {
    if (!pid) return t('pools.root');
    const r = rows.find((x) => x.pool.id === pid);
    return r ? r.pool.name : pid;
  };

  async function submit(e) {
    e.preventDefault();
    setError(null); setResult(null);
    // Only what changed: a reservation sent unchanged would still be
    // admitted again, and a pool unchanged would not be a move.
    const b = {};
    if (to !== here) b.pool = to || null;
    const c = intOr(cpu), m = intOr(mem);
    if (c !== cpuNow) b.cpu_reservation_pct = c === null ? cpu : c;
    if (m !== memNow) b.mem_reservation_mib = m === null ? mem : m;
    if (!Object.keys(b).length) { setResult({ ok: true, text: t('vmpool.no_change') }); return; }
    setBusy(true);
    try {
      const r = await post('/api/v1/vms/' + enc(vm.id) + '/pool', b);
      if (r && r.task) {
        setState(r.task.state);
        const end = await waitTask(r.task.id, (tk) => setState(tk.state));
        setResult(end.state === 'succeeded' ? { ok: true, text: t('vmpool.moved', { pool: nameOf(to) }) }
          : { ok: false, text: (end.error && end.error.message) || end.message });
      } else {
        setResult({ ok: true, text: t('vmpool.saved') });
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setState(null);
      onDone();
    }
  }
  return (
    <form onSubmit={submit} aria-labelledby="vm-pool-title" data-testid="vm-pool">
      <h2 id="vm-pool-title">{t('vmpool.title')}</h2>
      <p class="muted">{t('vmpool.hint')}</p>
      <ErrorText error={loadErr} />
      <dl class="summary">
        <dt>{t('vmpool.current')}</dt>
        <dd data-testid="vm-pool-current">{view ? <Link href={'/clusters/' + enc(vm.cluster_id) + '/pools'}>{nameOf(here)}</Link> : t('common.loading')}</dd>
        <dt>{t('vmpool.reservations')}</dt>
        <dd data-testid="vm-pool-reservations">{t('vmpool.reservations_value', { cpu: cpuNow, mem: mib(memNow) })}</dd>
      </dl>
      <div class="row">
        <Field label={t('vmpool.to')} id="vp-pool">
          <select id="vp-pool" value={to} onChange={(e) => setTo(e.currentTarget.value)}>
            <option value="">{t('pools.root')}</option>
            {rows.map(({ pool, depth }) => <option value={pool.id}>{'\u2014 '.repeat(depth) + pool.name}</option>)}
          </select>
        </Field>
        <Field label={t('pools.cpu_reservation')} id="vp-cpu">
          <input id="vp-cpu" inputmode="numeric" required value={cpu} onInput={(e) => setCpu(e.currentTarget.value)} />
        </Field>
        <Field label={t('pools.mem_reservation')} id="vp-mem">
          <input id="vp-mem" inputmode="numeric" required value={mem} onInput={(e) => setMem(e.currentTarget.value)} />
        </Field>
      </div>
      <button type="submit" disabled={busy || !view} data-testid="vm-pool-go">{t('vmpool.apply')}</button>
      <ErrorText error={error} />
      {state ? <p role="status" data-testid="vm-pool-progress">{t('vmpool.moving', { state: t('taskstate.' + state) })}</p> : null}
      {result ? <p class={result.ok ? 'good' : 'bad'} role="status" data-testid="vm-pool-result">{result.text}</p> : null}
    </form>
  );
}
