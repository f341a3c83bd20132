// Charts of a VM or a host: CPU (used and demanded), memory, disk and
// network (GET /api/v1/{vms,hosts}/{id}/metrics), drawn by uPlot
// (../charts/plot.js, loaded on demand). A range chooser picks the last
// hour (one point per heartbeat, extended every interval with the points
// since the last one) or a day, week, month or year (vdcd's consolidated
// tiers: each point a bucket's average, the table's highest from the
// buckets' maxima; fetched again every minute). Each chart has its
// numbers beside it as a table (latest, lowest, highest): the text
// alternative, and readable on a phone.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { Link, ErrorText } from '../components.jsx';
import { t } from '../i18n/index.js';
import { loadChunk } from '../chunk.js';

const GROUPS = {
  vm: [['cpu', ['cpu', 'cpu_demand']], ['memory', ['memory', 'memory_active']], ['disk', ['disk_read', 'disk_write']], ['network', ['net_rx', 'net_tx']]],
  host: [['cpu', ['cpu', 'cpu_demand']], ['memory', ['memory_used', 'memory_total']], ['disk', ['disk_read', 'disk_write']], ['network', ['net_rx', 'net_tx']]],
};

// What was wanted or touched, drawn dashed over what was used.
const DASHED = ['cpu_demand', 'memory_active'];

// The range chooser: what ?since= each asks (vdcd picks the tier).
const RANGES = [['hour', '1h'], ['day', '1d'], ['week', '7d'], ['month', '30d'], ['year', '1y']];
const TIER_POLL_MS = 60000;

// Binary units, a decimal where it says something (0.5 B/s, not 1 B/s).
function human(v) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (Number.isInteger(v) ? v : v.toFixed(1)) + ' ' + u[i];
}

function formatter(unit) {
  if (unit === 'percent') return (v) => (v == null ? '-' : (+v).toFixed(1) + ' %');
  if (unit === 'bytes_per_second') return (v) => (v == null ? '-' : human(v) + '/s');
  return (v) => (v == null ? '-' : human(v));
}

// Appends the points of `more` after the last of `m`, keeping the window.
function extend(m, more) {
  if (!m) return more;
  const last = m.timestamps.length ? m.timestamps[m.timestamps.length - 1] : -Infinity;
  const from = more.timestamps.findIndex((ts) => ts > last);
  if (from < 0) return m;
  const ts = m.timestamps.concat(more.timestamps.slice(from));
  const keep = ts.findIndex((x) => x >= ts[ts.length - 1] - (m.retention_s || 3600));
  const series = m.series.map((s) => {
    const n = more.series.find((x) => x.name === s.name);
    const vals = s.values.concat(n ? n.values.slice(from) : more.timestamps.slice(from).map(() => null));
    return { ...s, values: vals.slice(keep) };
  });
  return { ...m, timestamps: ts.slice(keep), series };
}

// A tier's series has `max` beside its averages: the highest is theirs.
function stats(values, maxes) {
  let latest = null, min = null, max = null;
  for (const v of values) {
    if (v == null) continue;
    latest = v;
    if (min == null || v < min) min = v;
    if (max == null || v > max) max = v;
  }
  for (const v of maxes || []) if (v != null && (max == null || v > max)) max = v;
  return { latest, min, max };
}

function Chart({ id, title, names, m, mod }) {
  const el = useRef(null);
  const chart = useRef(null);
  const series = names.map((n) => m.series.find((s) => s.name === n)).filter(Boolean);
  const unit = series.length ? series[0].unit : 'bytes';
  const fmt = formatter(unit);
  const labels = series.map((s) => t('chart.series_' + s.name));
  useEffect(() => {
    if (!mod || !el.current) return undefined;
    const dashed = series.map((s) => DASHED.includes(s.name));
    chart.current = mod.plot(el.current, { labels, fmt, dashed, width: el.current.clientWidth || 300, height: 180 });
    const ro = new ResizeObserver(() => chart.current && el.current && chart.current.size(el.current.clientWidth));
    ro.observe(el.current);
    return () => { ro.disconnect(); chart.current.destroy(); chart.current = null; };
  }, [mod, names.join(), unit]);
  useEffect(() => {
    if (chart.current) chart.current.set([m.timestamps].concat(series.map((s) => s.values)));
  });
  const st = series.map((s) => stats(s.values, s.max));
  const summary = series.map((s, i) => labels[i] + ' ' + fmt(st[i].latest)).join(', ');
  return (
    <figure class="chart" aria-labelledby={id + '-title'} data-testid={'chart-' + names[0]}>
      <figcaption id={id + '-title'}>{title}</figcaption>
      <div class="plot" ref={el} role="img" aria-label={t('chart.alt', { title, summary })} />
      <table>
        <caption class="sr-only">{t('chart.table_caption', { title })}</caption>
        <thead><tr><th scope="col">{t('chart.series')}</th><th scope="col">{t('chart.latest')}</th><th scope="col">{t('chart.min')}</th><th scope="col">{t('chart.max')}</th></tr></thead>
        <tbody>
          {series.map((s, i) => (
            <tr data-series={s.name}>
              <th scope="row"><span class={'swatch swatch-' + (i % 2) + (DASHED.includes(s.name) ? ' swatch-dashed' : '')} aria-hidden="true" />{labels[i]}</th>
              <td class="num" data-testid="latest">{fmt(st[i].latest)}</td><td class="num">{fmt(st[i].min)}</td><td class="num">{fmt(st[i].max)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

function RangeChooser({ range, setRange }) {
  return (
    <div class="actions chart-range" role="group" aria-label={t('chart.range')} data-testid="chart-range">
      {RANGES.map(([r]) => (
        <button type="button" class={r === range ? 'primary' : ''} aria-pressed={r === range ? 'true' : 'false'}
          data-range={r} onClick={() => setRange(r)}>{t('chart.range_' + r)}</button>
      ))}
    </div>
  );
}

function Charts({ kind, id }) {
  const base = '/api/v1/' + kind + 's/' + enc(id);
  const [range, setRangeState] = useState('hour');
  const [obj, setObj] = useState(null);
  const [m, setM] = useState(null);
  const [error, setError] = useState(null);
  const [mod, setMod] = useState(null);
  const [plotError, setPlotError] = useState(null); // uPlot's chunk did not come: kept, unlike a poll's
  const mref = useRef(null);
  mref.current = m;
  const setRange = (r) => { if (r !== range) { setM(null); setRangeState(r); } };
  useEffect(() => {
    let live = true;
    loadChunk(() => import('../charts/plot.js')).then((x) => live && setMod(x), (e) => live && setPlotError(e));
    get(base).then((o) => live && setObj(o), () => {});
    return () => { live = false; };
  }, [base]);
  useEffect(() => {
    let live = true;
    const since = RANGES.find(([r]) => r === range)[1];
    // No polling while the tab is hidden (a tab left open costs vdcd and
    // the agent nothing); shown again, one poll fetches what was missed
    // (?since= the last sample).
    let timer = null, busy = false;
    async function poll() {
      timer = null;
      if (document.hidden || busy) return;
      busy = true;
      const cur = mref.current;
      const last = cur && cur.timestamps.length ? cur.timestamps[cur.timestamps.length - 1] : null;
      const hour = range === 'hour';
      try {
        // The hour: the points since the last one; a tier: all of it again.
        const r = await get(base + '/metrics?since=' + (hour && last ? Math.floor(last) : since));
        if (!live) return;
        setM((old) => (hour ? extend(old, r) : r));
        setError(null);
      } catch (e) {
        if (live) setError(e);
      }
      busy = false;
      const every = hour ? Math.max(2, (mref.current && mref.current.interval_s) || 5) * 1000 : TIER_POLL_MS;
      if (live && !document.hidden) timer = setTimeout(poll, every);
    }
    const shown = () => { if (live && !document.hidden && !timer) poll(); };
    document.addEventListener('visibilitychange', shown);
    poll();
    return () => { live = false; clearTimeout(timer); document.removeEventListener('visibilitychange', shown); };
  }, [base, range]);
  const name = obj ? obj.name : id;
  const back = kind === 'vm' ? '/vms/' + enc(id) : '/objects/hosts/' + enc(id);
  const backLabel = kind === 'vm' ? t('chart.back_vm') : t('chart.back_host');
  return (
    <section>
      <div class="page-head">
        <h1>{t('chart.title_' + kind, { name })}</h1>
        <div class="links"><Link href={back}>{backLabel}</Link></div>
      </div>
      <RangeChooser range={range} setRange={setRange} />
      <p class="muted" data-testid="chart-body">{!m ? t('common.loading')
        : m.resolution && m.resolution !== 'raw' ? t('chart.body_tier', { range: t('chart.range_' + range), resolution: m.resolution })
          : t('chart.body', { interval: m.interval_s, minutes: Math.round((m.retention_s || 3600) / 60) })}</p>
      <ErrorText error={error || plotError} />
      {m && m.timestamps.length === 0 ? <p class="muted" data-testid="no-samples">{t('chart.no_samples')}</p> : null}
      {m && m.timestamps.length ? (
        <div class="charts">
          {GROUPS[kind].map(([g, names]) => (
            <Chart key={g} id={'chart-' + g} title={t('chart.' + g)} names={names} m={m} mod={mod} />
          ))}
        </div>
      ) : null}
    </section>
  );
}

export function VmCharts({ id }) { return <Charts kind="vm" id={id} />; }
export function HostCharts({ id }) { return <Charts kind="host" id={id} />; }
