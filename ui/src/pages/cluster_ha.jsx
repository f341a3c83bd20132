// A cluster's high availability (/clusters/:id/ha). Every user sees its
// settings; system administrators (as the API says: the report and the
// audit log are theirs) also see the failover capacity under the
// admission policy (the summary sentence, a bar and the numbers for
// total, load, what is kept for failover and what is free, how many host
// failures the load survives), each host's HA verdict with its reason, and
// the incident timeline (ha_timeline.jsx); they change the settings (a
// PATCH of the cluster's "ha", only what changed; vdcd names a bad field).
// Live: a host's verdict, a VM started or stopped, the cluster changed
// elsewhere show without a reload.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, get, enc } from '../api.js';
import { ErrorText, Field, HaBadge, Link, Notice, StateBadge, isAdmin, useLoad, mib } from '../components.jsx';
import { t } from '../i18n/index.js';
import { useLiveReload } from '../live.js';
import { HaIncidents } from './ha_incidents.jsx';
import { HaTimeline } from './ha_timeline.jsx';
import { PRIORITIES, RESPONSES } from './ha_choices.js';
import './cluster_ha.css';

// vdcd's defaults (docs/openapi.yaml, HaPolicy): what a cluster that set
// nothing runs with.
const DEFAULTS = { enabled: false, default_priority: 'medium', isolation_response: 'leave', net_timeout_ms: 3000,
  lease_ms: 4000, margin_ms: 500, max_restarts: 3, restart_window_s: 3600 };
const TIMES = ['net_timeout_ms', 'lease_ms', 'margin_ms', 'max_restarts', 'restart_window_s'];
const POLICIES = ['host_failures', 'percent', 'none'];

// The form's values (strings, as typed) from the cluster's settings. With
// HA on and no admission policy set, vdcd keeps one host failure's room.
function formOf(ha) {
  const p = { ...DEFAULTS, ...(ha || {}) };
  const a = (ha && ha.admission) || { policy: 'host_failures', host_failures: 1 };
  return {
    enabled: !!p.enabled, default_priority: p.default_priority, isolation_response: p.isolation_response,
    ...Object.fromEntries(TIMES.map((k) => [k, String(p[k])])),
    policy: a.policy,
    host_failures: String(a.host_failures ?? 1),
    cpu_pct: a.cpu_pct == null ? '' : String(a.cpu_pct),
    mem_pct: a.mem_pct == null ? '' : String(a.mem_pct),
  };
}

// A number as a number; anything else as typed, for vdcd to name.
const num = (v) => (v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);

function admissionOf(f) {
  const a = { policy: f.policy };
  if (f.policy === 'host_failures') a.host_failures = num(f.host_failures);
  if (f.policy === 'percent') {
    if (f.cpu_pct.trim() !== '') a.cpu_pct = num(f.cpu_pct);
    if (f.mem_pct.trim() !== '') a.mem_pct = num(f.mem_pct);
  }
  return a;
}

// The PATCH's "ha": only what changed from the settings the form started from.
function haBody(form, ha) {
  const was = formOf(ha);
  const b = {};
  if (form.enabled !== was.enabled) b.enabled = form.enabled;
  for (const k of ['default_priority', 'isolation_response']) if (form[k] !== was[k]) b[k] = form[k];
  for (const k of TIMES) if (form[k] !== was[k]) b[k] = num(form[k]);
  const a = admissionOf(form);
  if (JSON.stringify(a) !== JSON.stringify(admissionOf(was))) b.admission = a;
  return b;
}

function Settings({ cluster, onSaved }) {
  const ha = cluster.ha || {};
  const [form, setForm] = useState(() => formOf(ha));
  const [error, setError] = useState(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  // The form follows a change made elsewhere while it is untouched.
  const haText = JSON.stringify(ha);
  const base = useRef(haText);
  useEffect(() => {
    if (base.current === haText) return;
    const was = JSON.stringify(formOf(JSON.parse(base.current)));
    base.current = haText;
    setForm((f) => (JSON.stringify(f) === was ? formOf(ha) : f));
  }, [haText]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  // The field vdcd named in its refusal (ha.lease_ms, ha.admission.cpu_pct).
  const named = error && error.field ? error.field.replace(/^ha\.(admission\.)?/, '') : null;
  const bad = (k) => (named === k || (k === 'policy' && error && error.field === 'ha.admission') ? 'true' : undefined);
  async function save(e) {
    e.preventDefault();
    setError(null); setDone('');
    const b = haBody(form, ha);
    if (!Object.keys(b).length) { setDone(t('ha.no_change')); return; }
    setBusy(true);
    try {
      await api('PATCH', '/api/v1/clusters/' + enc(cluster.id), { ha: b });
      setDone(t('ha.saved', { name: cluster.name }));
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const numField = (k, hint) => (
    <Field label={t('ha.' + k)} id={'ha-' + k} hint={hint}>
      <input id={'ha-' + k} inputmode="numeric" required value={form[k]} onInput={set(k)} aria-invalid={bad(k)}
        aria-describedby={hint ? 'ha-' + k + '-hint' : undefined} />
    </Field>
  );
  return (
    <form onSubmit={save} aria-labelledby="ha-settings-title" data-testid="ha-form">
      <h2 id="ha-settings-title">{t('ha.settings')}</h2>
      <label class="check"><input type="checkbox" id="ha-enabled" checked={form.enabled} onChange={set('enabled')} /> {t('ha.enable')}</label>
      <p class="muted" id="ha-enabled-hint">{t('ha.enable_hint')}</p>
      <div class="row">
        <Field label={t('ha.default_priority')} id="ha-priority" hint={t('ha.default_priority_hint')}>
          <select id="ha-priority" value={form.default_priority} onChange={set('default_priority')} aria-describedby="ha-priority-hint" aria-invalid={bad('default_priority')}>
            {PRIORITIES.map((p) => <option value={p}>{t('ha.priority_' + p)}</option>)}
          </select>
        </Field>
        <Field label={t('ha.isolation_response')} id="ha-isolation" hint={t('ha.isolation_hint')}>
          <select id="ha-isolation" value={form.isolation_response} onChange={set('isolation_response')} aria-describedby="ha-isolation-hint" aria-invalid={bad('isolation_response')}>
            {RESPONSES.map((r) => <option value={r}>{t('ha.response_' + r)}</option>)}
          </select>
        </Field>
      </div>
      <fieldset class="ha-admission">
        <legend>{t('ha.admission')}</legend>
        <p class="muted">{t('ha.admission_hint')}</p>
        <div class="row">
          <Field label={t('ha.admission_policy')} id="ha-policy">
            <select id="ha-policy" value={form.policy} onChange={set('policy')} aria-invalid={bad('policy')}>
              {POLICIES.map((p) => <option value={p}>{t('ha.policy_' + p)}</option>)}
            </select>
          </Field>
          {form.policy === 'host_failures' ? numField('host_failures', t('ha.host_failures_hint')) : null}
          {form.policy === 'percent' ? (
            <>
              <Field label={t('ha.cpu_pct')} id="ha-cpu_pct">
                <input id="ha-cpu_pct" inputmode="numeric" value={form.cpu_pct} onInput={set('cpu_pct')} aria-invalid={bad('cpu_pct')} />
              </Field>
              <Field label={t('ha.mem_pct')} id="ha-mem_pct">
                <input id="ha-mem_pct" inputmode="numeric" value={form.mem_pct} onInput={set('mem_pct')} aria-invalid={bad('mem_pct')} />
              </Field>
            </>
          ) : null}
        </div>
      </fieldset>
      <details class="ha-advanced" data-testid="ha-advanced">
        <summary>{t('ha.advanced')}</summary>
        <p class="muted">{t('ha.advanced_hint')}</p>
        <div class="row">
          {numField('net_timeout_ms', t('ha.net_timeout_ms_hint'))}
          {numField('lease_ms', t('ha.lease_ms_hint'))}
          {numField('margin_ms', t('ha.margin_ms_hint'))}
        </div>
        <div class="row">
          {numField('max_restarts', t('ha.max_restarts_hint'))}
          {numField('restart_window_s', t('ha.restart_window_s_hint'))}
        </div>
      </details>
      <button type="submit" class="primary" disabled={busy} data-testid="ha-save">{t('ha.save')}</button>
      <ErrorText error={error} />
      <Notice text={done} kind="good" />
    </form>
  );
}

// The settings as text, for those who may not change them.
function SettingsView({ ha }) {
  const f = formOf(ha);
  const a = admissionOf(f);
  return (
    <section aria-labelledby="ha-settings-title" data-testid="ha-settings">
      <h2 id="ha-settings-title">{t('ha.settings')}</h2>
      <p class="muted" data-testid="ha-readonly">{t('ha.readonly')}</p>
      <dl class="summary">
        <dt>{t('ha.default_priority')}</dt><dd>{t('ha.priority_' + f.default_priority)}</dd>
        <dt>{t('ha.isolation_response')}</dt><dd>{t('ha.response_' + f.isolation_response)}</dd>
        <dt>{t('ha.admission_policy')}</dt>
        <dd>{t('ha.policy_' + a.policy)}{a.policy === 'host_failures' ? ': ' + a.host_failures : ''}
          {a.policy === 'percent' ? ': ' + t('ha.percent_value', { cpu: a.cpu_pct ?? 0, mem: a.mem_pct ?? 0 }) : ''}</dd>
        {TIMES.map((k) => <><dt>{t('ha.' + k)}</dt><dd>{f[k]}</dd></>)}
      </dl>
    </section>
  );
}

// One resource's capacity as a bar: load, then what is kept for failover,
// then what is free (SVG: the page's CSP allows no inline style).
function Bar({ total, load, reserved, label }) {
  if (!total) return null;
  const pct = (v) => Math.max(0, Math.min(100, (v / total) * 100));
  const l = pct(load), r = Math.min(pct(reserved), 100 - l), f = 100 - l - r;
  return (
    <svg class="ha-bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={label}>
      <rect class="ha-bar-load" x="0" y="0" width={l} height="10" />
      <rect class="ha-bar-reserved" x={l} y="0" width={r} height="10" />
      <rect class="ha-bar-free" x={l + r} y="0" width={f} height="10" />
    </svg>
  );
}

function Capacity({ report }) {
  const c = report.failover_capacity;
  if (!c) return <p class="muted" data-testid="ha-capacity">{t('ha.no_capacity')}</p>;
  const n = c.tolerates_host_failures;
  const rows = [['vcpus', t('ha.vcpus'), (v) => String(v)], ['memory_mib', t('ha.memory'), mib]];
  return (
    <section aria-labelledby="ha-cap-title" data-testid="ha-capacity">
      <h2 id="ha-cap-title">{t('ha.capacity')}</h2>
      <p>{t('ha.admission_in_force')}: <strong data-testid="ha-admission-policy">{report.admission}</strong></p>
      <p data-testid="ha-summary">{c.summary}</p>
      <p>
        <span class={'badge ' + (n > 0 ? 'state-running' : 'state-crashed')} data-testid="ha-tolerates" data-n={n}>
          {n === 1 ? t('ha.tolerates_one') : t('ha.tolerates', { n })}
        </span>
        {c.overloaded ? <> <span class="badge state-crashed" data-testid="ha-overloaded">{t('ha.overloaded')}</span></> : null}
      </p>
      <ul class="ha-legend" aria-hidden="true">
        <li><span class="ha-swatch ha-bar-load" />{t('ha.load')}</li>
        <li><span class="ha-swatch ha-bar-reserved" />{t('ha.reserved')}</li>
        <li><span class="ha-swatch ha-bar-free" />{t('ha.free')}</li>
      </ul>
      <table class="ha-capacity-table">
        <thead><tr>
          <th scope="col">{t('ha.resource')}</th><th scope="col" class="ha-bar-cell"><span class="sr-only">{t('ha.bar')}</span></th>
          <th scope="col">{t('ha.total', { hosts: c.hosts })}</th><th scope="col">{t('ha.load')}</th>
          <th scope="col">{t('ha.reserved')}</th><th scope="col">{t('ha.free')}</th>
        </tr></thead>
        <tbody>
          {rows.map(([k, label, fmt]) => (
            <tr data-resource={k}>
              <th scope="row">{label}</th>
              <td class="ha-bar-cell"><Bar total={c.total[k]} load={c.load[k]} reserved={c.reserved[k]}
                label={t('ha.bar_label', { what: label, load: fmt(c.load[k]), reserved: fmt(c.reserved[k]), free: fmt(c.free[k]), total: fmt(c.total[k]) })} /></td>
              <td data-testid={'ha-total-' + k}>{fmt(c.total[k])}</td>
              <td data-testid={'ha-load-' + k}>{fmt(c.load[k])}</td>
              <td data-testid={'ha-reserved-' + k}>{fmt(c.reserved[k])}</td>
              <td data-testid={'ha-free-' + k} class={c.free[k] < 0 ? 'bad' : ''}>{fmt(c.free[k])}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const seconds = (ms) => (ms / 1000).toFixed(1);

function Hosts({ report }) {
  return (
    <section aria-labelledby="ha-hosts-title" data-testid="ha-hosts">
      <h2 id="ha-hosts-title">{t('ha.hosts')}</h2>
      {report.hosts.length === 0 ? <p class="muted">{t('ha.no_hosts')}</p> : (
        <table>
          <thead><tr>
            <th scope="col">{t('common.name')}</th><th scope="col">{t('vm.state')}</th>
            <th scope="col">{t('ha.ha_state')}</th><th scope="col">{t('ha.reason')}</th>
          </tr></thead>
          <tbody>
            {report.hosts.map((h) => (
              <tr data-host={h.name}>
                <td><Link href={'/objects/hosts/' + enc(h.id)}>{h.name}</Link></td>
                <td><StateBadge state={h.state} /></td>
                <td>{h.ha ? <HaBadge ha={h.ha} /> : <span class="muted">{t('ha.not_judged')}</span>}</td>
                <td data-testid="ha-reason">
                  {h.ha && h.ha.reason ? h.ha.reason : ''}
                  {h.ha && h.ha.state !== 'connected' && h.ha.silent_ms > 0 ? <div class="muted">{t('ha.silent_for', { s: seconds(h.ha.silent_ms) })}</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ClusterHaPage({ id }) {
  const admin = isAdmin();
  const [cluster, error, reload] = useLoad(() => get('/api/v1/clusters/' + enc(id)), [id]);
  const [report, repErr, reloadReport] = useLoad(() => (admin ? get('/api/v1/clusters/' + enc(id) + '/ha') : Promise.resolve(null)), [id, admin]);
  // What the page shows of each host, to tell a verdict that changed from
  // a heartbeat (a host's record is written every few seconds; its "ha"
  // only when the verdict changes, so a record without one changed none).
  const shown = useRef({});
  shown.current = Object.fromEntries(((report && report.hosts) || []).map((h) => [h.id, { ha: h.ha ? h.ha.state : '', state: h.state }]));
  const cid = cluster ? cluster.id : id;
  useLiveReload(reload, (name, d) => name === 'cluster.updated' && d && d.id === cid, 0);
  useLiveReload(reloadReport, (name, d) => {
    if (!admin || !d) return false;
    if (name === 'cluster.updated') return d.id === cid;
    if (name === 'host.updated' || name === 'host.created' || name === 'host.deleted') {
      const doc = d.doc, was = shown.current[d.id];
      if (!doc || doc.cluster_id !== cid) return !!was;
      return !was || was.state !== doc.state || (!!doc.ha && doc.ha.state !== was.ha);
    }
    return name === 'vm.state'; // a VM started or stopped: the load
  }, 5000, 1000);
  const saved = () => { reload(); reloadReport(); };
  const name = cluster ? cluster.name : id;
  const on = cluster && cluster.ha && cluster.ha.enabled;
  return (
    <section data-testid="cluster-ha">
      <p class="muted"><Link href="/clusters">{t('kind.clusters')}</Link></p>
      <h1>{t('ha.title', { name })} {cluster ? <span class={'badge ' + (on ? 'state-running' : 'state-stopped')} data-testid="ha-enabled-badge">{on ? t('ha.on') : t('ha.off')}</span> : null}</h1>
      <p class="muted">{t('ha.intro')}</p>
      <ErrorText error={error || repErr} />
      {cluster && !on ? <Notice text={t('ha.is_off')} /> : null}
      {report ? <Capacity report={report} /> : null}
      {report ? <Hosts report={report} /> : null}
      {admin && cluster ? <HaIncidents clusterId={cluster.id} /> : null}
      {admin && cluster ? <HaTimeline clusterId={cluster.id} /> : null}
      {cluster ? (admin ? <Settings cluster={cluster} onSaved={saved} /> : <SettingsView ha={cluster.ha} />) : null}
    </section>
  );
}
