// Clusters (/clusters): every user sees each cluster's overcommit ratios,
// placement policy, description and whether HA is on (its link opens the
// cluster's HA page, cluster_ha.jsx); system administrators also see how
// many hosts each has, create, edit (PATCH) and delete empty ones, and
// open each one's resource pools (pools.jsx).
// Live: a cluster made, changed or deleted elsewhere, or a host joining,
// leaving or moving, shows without a reload.
import { useState } from 'preact/hooks';
import { api, get, post, del, enc } from '../api.js';
import { Confirm, ErrorText, Field, Link, Notice, isAdmin, useLoad } from '../components.jsx';
import { t } from '../i18n/index.js';
import { useLiveReload } from '../live.js';
import './clusters.css';

const BLANK = { name: '', cpu_overcommit: '4', mem_overcommit: '1', policy: 'pack', description: '', cpu_baseline: '' };

// Hosts per cluster id, and each host's cluster (to tell a host that
// moved from one that only sent a heartbeat). Administrators only: hosts
// are theirs in the API.
async function hostCounts() {
  const r = await get('/api/v1/hosts?fields=cluster_id&limit=10000');
  const n = {}, of = {};
  for (const h of r.items) { n[h.cluster_id] = (n[h.cluster_id] || 0) + 1; of[h.id] = h.cluster_id; }
  return { n, of };
}

// The form's values as a request body: numbers as numbers (vdcd names a
// bad one), an unchanged field left out of an edit.
function body(form, was) {
  const b = {};
  for (const k of ['cpu_overcommit', 'mem_overcommit']) {
    const v = form[k].trim() === '' ? NaN : Number(form[k]);
    const value = Number.isNaN(v) ? form[k] : v;
    if (!was || value !== was[k]) b[k] = value;
  }
  if (!was || form.policy !== was.policy) b.policy = form.policy;
  if (!was || form.description !== (was.description || '')) {
    if (was || form.description) b.description = form.description;
  }
  // The CPU baseline: a model every host offers; '' removes it.
  const base = form.cpu_baseline.trim();
  if (was ? base !== (was.cpu_baseline || '') : base) b.cpu_baseline = base;
  if (!was) b.name = form.name;
  return b;
}

function ClusterForm({ prefix, form, setForm, editing }) {
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  return (
    <div class="row">
      {editing ? null : (
        <Field label={t('common.name')} id={prefix + '-name'}>
          <input id={prefix + '-name'} required value={form.name} onInput={set('name')} />
        </Field>
      )}
      <Field label={t('clusters.cpu_overcommit')} id={prefix + '-cpu'} hint={t('clusters.cpu_hint')}>
        <input id={prefix + '-cpu'} inputmode="decimal" required value={form.cpu_overcommit} onInput={set('cpu_overcommit')} aria-describedby={prefix + '-cpu-hint'} />
      </Field>
      <Field label={t('clusters.mem_overcommit')} id={prefix + '-mem'} hint={t('clusters.mem_hint')}>
        <input id={prefix + '-mem'} inputmode="decimal" required value={form.mem_overcommit} onInput={set('mem_overcommit')} aria-describedby={prefix + '-mem-hint'} />
      </Field>
      <Field label={t('clusters.policy')} id={prefix + '-policy'}>
        <select id={prefix + '-policy'} value={form.policy} onChange={set('policy')}>
          <option value="pack">{t('clusters.policy_pack')}</option>
          <option value="spread">{t('clusters.policy_spread')}</option>
        </select>
      </Field>
      <Field label={t('clusters.cpu_baseline')} id={prefix + '-cpubase'} hint={t('clusters.cpu_baseline_hint')}>
        <input id={prefix + '-cpubase'} maxLength={63} value={form.cpu_baseline} onInput={set('cpu_baseline')} aria-describedby={prefix + '-cpubase-hint'} />
      </Field>
      <Field label={t('clusters.description')} id={prefix + '-desc'}>
        <input id={prefix + '-desc'} maxLength={1024} value={form.description} onInput={set('description')} />
      </Field>
    </div>
  );
}

export function ClustersPage() {
  const admin = isAdmin();
  const [clusters, error, reload] = useLoad(() => get('/api/v1/clusters?limit=1000'), []);
  const [hosts, , reloadCounts] = useLoad(() => (admin ? hostCounts() : Promise.resolve(null)), [admin]);
  const counts = hosts && hosts.n;
  useLiveReload(reload, (name) => name.startsWith('cluster.'));
  useLiveReload(reloadCounts, (name, d) => admin && (name === 'host.created' || name === 'host.deleted' ||
    (name === 'host.updated' && hosts && d && d.doc && hosts.of[d.id] !== d.doc.cluster_id)));
  const [form, setForm] = useState(BLANK);
  const [edit, setEdit] = useState(null); // {cluster, form}
  const [gone, setGone] = useState(null); // the cluster asked to be deleted
  const [actErr, setActErr] = useState(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  async function act(fn, message) {
    setBusy(true); setActErr(null); setDone('');
    try { await fn(); setDone(message); reload(); reloadCounts(); return true; } catch (e) { setActErr(e); return false; } finally { setBusy(false); }
  }
  const create = (e) => {
    e.preventDefault();
    act(() => post('/api/v1/clusters', body(form)), t('clusters.created', { name: form.name })).then((ok) => ok && setForm(BLANK));
  };
  const save = (e) => {
    e.preventDefault();
    const c = edit.cluster, b = body(edit.form, c);
    if (!Object.keys(b).length) { setEdit(null); return; }
    act(() => api('PATCH', '/api/v1/clusters/' + enc(c.id), b), t('clusters.updated', { name: c.name })).then((ok) => ok && setEdit(null));
  };
  const remove = () => {
    const c = gone;
    setGone(null);
    act(() => del('/api/v1/clusters/' + enc(c.id)), t('clusters.deleted', { name: c.name }));
  };
  const startEdit = (c) => {
    setActErr(null); setDone('');
    setEdit({ cluster: c, form: { name: c.name, cpu_overcommit: String(c.cpu_overcommit), mem_overcommit: String(c.mem_overcommit), policy: c.policy, description: c.description || '', cpu_baseline: c.cpu_baseline || '' } });
  };
  // 409 in_use: say plainly what to do, with vdcd's count of hosts.
  const errText = actErr && actErr.code === 'in_use' ? { message: t('clusters.in_use', { detail: actErr.message }) } : actErr;
  return (
    <section data-testid="clusters">
      <h1>{t('kind.clusters')}</h1>
      <p class="muted">{t('clusters.intro')}</p>
      <ErrorText error={error} />
      <Notice text={done} kind="ok" />
      <ErrorText error={errText} />
      {clusters ? (
        <table data-testid="cluster-table">
          <thead><tr>
            <th scope="col">{t('common.name')}</th>
            {admin ? <th scope="col">{t('kind.hosts')}</th> : null}
            <th scope="col">{t('clusters.cpu_overcommit')}</th>
            <th scope="col">{t('clusters.mem_overcommit')}</th>
            <th scope="col">{t('clusters.policy')}</th>
            <th scope="col">{t('clusters.description')}</th>
            <th scope="col">{t('ha.short')}</th>
            {admin ? <th scope="col"><span class="sr-only">{t('clusters.actions')}</span></th> : null}
          </tr></thead>
          <tbody>
            {clusters.items.map((c) => (
              <tr data-cluster={c.name}>
                <td>{c.name}</td>
                {admin ? <td data-testid="hosts">{counts ? counts[c.id] || 0 : '-'}</td> : null}
                <td data-testid="cpu">{c.cpu_overcommit}</td>
                <td data-testid="mem">{c.mem_overcommit}</td>
                <td data-testid="policy">{t('clusters.policy_' + c.policy)}</td>
                <td>{c.description || ''}</td>
                <td data-testid="ha">
                  <Link href={'/clusters/' + enc(c.id) + '/ha'} aria-label={t('ha.of', { name: c.name, state: c.ha && c.ha.enabled ? t('ha.on') : t('ha.off') })} data-testid="ha-link">
                    {c.ha && c.ha.enabled ? t('ha.on') : t('ha.off')}
                  </Link>
                </td>
                {admin ? (
                  <td class="cluster-actions">
                    <Link href={'/clusters/' + enc(c.id) + '/pools'} aria-label={t('pools.of', { name: c.name })} data-testid="pools-link">{t('pools.link')}</Link>
                    <button type="button" class="link" onClick={() => startEdit(c)} aria-label={t('clusters.edit', { name: c.name })}>{t('clusters.edit_short')}</button>
                    <button type="button" class="link danger" onClick={() => { setActErr(null); setDone(''); setGone(c); }} aria-label={t('clusters.delete', { name: c.name })}>{t('common.delete')}</button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {admin && edit ? (
        <form onSubmit={save} data-testid="cluster-edit">
          <h2>{t('clusters.edit', { name: edit.cluster.name })}</h2>
          <p class="muted">{t('clusters.edit_hint')}</p>
          <ClusterForm prefix="ce" form={edit.form} setForm={(f) => setEdit({ ...edit, form: f })} editing />
          <button type="submit" class="primary" disabled={busy}>{t('clusters.save')}</button>
          <button type="button" onClick={() => { setEdit(null); setActErr(null); }}>{t('common.cancel')}</button>
        </form>
      ) : null}
      {admin ? (
        <form onSubmit={create} data-testid="cluster-create">
          <h2>{t('clusters.create')}</h2>
          <ClusterForm prefix="cc" form={form} setForm={setForm} />
          <button type="submit" disabled={busy}>{t('clusters.create')}</button>
        </form>
      ) : null}
      <Confirm open={!!gone} danger title={gone ? t('clusters.delete', { name: gone.name }) : ''}
        body={t('clusters.delete_body')} confirmLabel={t('common.delete')}
        onConfirm={remove} onCancel={() => setGone(null)} />
    </section>
  );
}
