// Live migration of a VM (system administrators: it names hosts). Ask
// placement first (a dry run shows every host's verdict), then migrate
// and watch the copy: first the disks the other host does not share (a
// progress bar), then bytes left and the guest's dirty rate as a live
// chart, the expected pause and the throttle as numbers, until the task
// ends (its result says how long it took and paused, and which disks moved).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, enc, waitTask } from '../api.js';
import { loadChunk } from '../chunk.js';
import { Field, ErrorText } from '../components.jsx';
import { t } from '../i18n/index.js';

const MiB = 1024 * 1024;
const fmtMiB = (v) => (v == null ? '-' : (v / MiB).toFixed(v < 10 * MiB ? 1 : 0) + ' MiB');

function Verdicts({ placement }) {
  if (!placement) return null;
  return (
    <div data-testid="migrate-verdicts">
      <p>{placement.summary}</p>
      <table>
        <thead><tr><th scope="col">{t('migrate.host')}</th><th scope="col">{t('migrate.verdict')}</th><th scope="col">{t('migrate.reason')}</th></tr></thead>
        <tbody>
          {(placement.hosts || []).map((h) => (
            <tr><td>{h.host}</td><td>{h.eligible ? t('migrate.eligible') : h.filter}</td><td>{h.reason}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// The copy as it goes: remaining bytes and dirty rate over time.
function LiveChart({ points }) {
  const el = useRef(null);
  const chart = useRef(null);
  const [mod, setMod] = useState(null);
  useEffect(() => {
    let live = true;
    loadChunk(() => import('../charts/plot.js')).then((x) => live && setMod(x), () => {});
    return () => { live = false; };
  }, []);
  useEffect(() => {
    if (!mod || !el.current) return undefined;
    chart.current = mod.plot(el.current, { labels: [t('migrate.remaining'), t('migrate.dirty_rate')], fmt: fmtMiB, width: el.current.clientWidth || 300, height: 160 });
    return () => { chart.current.destroy(); chart.current = null; };
  }, [mod]);
  useEffect(() => {
    if (chart.current) chart.current.set([points.map((p) => p.t), points.map((p) => p.left), points.map((p) => p.dirty)]);
  });
  const last = points.length ? points[points.length - 1] : null;
  return (
    <figure class="chart" data-testid="migrate-chart" aria-labelledby="mig-chart-title">
      <figcaption id="mig-chart-title">{t('migrate.chart')}</figcaption>
      <div class="plot" ref={el} role="img" aria-label={t('migrate.chart_alt', { left: fmtMiB(last && last.left), dirty: fmtMiB(last && last.dirty) })} />
      <dl class="summary">
        <dt>{t('migrate.remaining')}</dt><dd data-testid="migrate-left">{fmtMiB(last && last.left)}</dd>
        <dt>{t('migrate.dirty_rate')}</dt><dd>{last ? fmtMiB(last.dirty) + '/s' : '-'}</dd>
        <dt>{t('migrate.expected_pause')}</dt><dd>{last ? last.pause + ' ms' : '-'}</dd>
        <dt>{t('migrate.throttle')}</dt><dd>{last ? last.throttle + ' %' : '-'}</dd>
      </dl>
    </figure>
  );
}

// The disks' copy to the other host, before the memory goes.
function DiskCopy({ copy }) {
  return (
    <div data-testid="migrate-disks">
      <label for="mig-disks">{t('migrate.disks', { copied: fmtMiB(copy.copied), total: fmtMiB(copy.total) })}</label>
      <progress id="mig-disks" max={copy.total || 1} value={copy.copied || 0} />
    </div>
  );
}

export function Migrate({ vm, onDone }) {
  const [hosts, setHosts] = useState([]);
  const [host, setHost] = useState('');
  const [dry, setDry] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [points, setPoints] = useState([]);
  const [copy, setCopy] = useState(null);
  const [end, setEnd] = useState(null);
  useEffect(() => {
    get('/api/v1/hosts?limit=1000').then((r) => setHosts((r.items || []).filter((h) => h.cluster_id === vm.cluster_id && h.id !== vm.host_id)), () => setHosts([]));
  }, [vm.id, vm.host_id]);
  const path = '/api/v1/vms/' + enc(vm.id) + '/migrate';
  const body = () => (host ? { host } : {});

  async function check() {
    setError(null);
    try { setDry(await post(path + '?dry_run=true', body())); } catch (e) { setError(e); setDry(null); }
  }
  async function migrate(e) {
    e.preventDefault();
    setError(null);
    setEnd(null);
    setPoints([]);
    setCopy(null);
    setBusy(true);
    try {
      const r = await post(path, body());
      const acc = [];
      const fin = await waitTask(r.task.id, (tk) => {
        const l = tk.live;
        if (l && l.status === 'copying-disks') setCopy({ copied: l.disk_copied_bytes, total: l.disk_total_bytes });
        if (l && l.total_bytes) {
          acc.push({ t: Date.now() / 1000, left: l.remaining_bytes, dirty: l.dirty_bytes_per_s, pause: l.expected_downtime_ms, throttle: l.throttle_pct });
          setPoints(acc.slice());
        }
      });
      setEnd(fin);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      onDone();
    }
  }
  const res = end && end.result;
  return (
    <form onSubmit={migrate} aria-labelledby="migrate-title" data-testid="migrate">
      <h2 id="migrate-title">{t('migrate.title')}</h2>
      <p class="muted">{t('migrate.hint')}</p>
      <div class="row">
        <Field label={t('migrate.to')} id="mig-host">
          <select id="mig-host" value={host} onChange={(e) => setHost(e.currentTarget.value)}>
            <option value="">{t('migrate.placement_choice')}</option>
            {hosts.map((h) => <option value={h.name}>{h.name}</option>)}
          </select>
        </Field>
      </div>
      <button type="button" disabled={busy} onClick={check} data-testid="migrate-check">{t('migrate.check')}</button>
      <button type="submit" disabled={busy} data-testid="migrate-go">{t('migrate.go')}</button>
      <ErrorText error={error} />
      {dry ? <Verdicts placement={dry.placement} /> : null}
      {copy && !points.length ? <DiskCopy copy={copy} /> : null}
      {points.length ? <LiveChart points={points} /> : null}
      {end && end.state === 'succeeded' && res ? (
        <p class="good" data-testid="migrate-result">
          {t('migrate.done', { host: vm.placement && vm.placement.host, total: res.total_ms, pause: res.downtime_ms, strategy: res.strategy || 'precopy' })}
          {res.copied_disks ? ' ' + t('migrate.copied', { disks: res.copied_disks.join(', '), size: fmtMiB(res.copied_bytes) }) : ''}
        </p>
      ) : null}
      {end && end.state !== 'succeeded' ? <p class="bad" data-testid="migrate-result">{(end.error && end.error.message) || end.message}</p> : null}
    </form>
  );
}
