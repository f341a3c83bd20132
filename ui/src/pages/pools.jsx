// A cluster's resource pools (/clusters/:id/pools; system administrators,
// as the API says): what the cluster can reserve and what is reserved,
// then its pools as a tree, each with its shares, reservations, limits and
// what its running VMs and child pools hold of its reservation. New pools,
// edits (a PATCH of what changed) and deletes; vdcd decides whether a
// change still fits its tree and says why not, which the page shows.
// Live: a pool changed or a VM started, stopped or moved elsewhere shows
// without a reload.
import { useState } from 'preact/hooks';
import { api, get, post, del, enc } from '../api.js';
import { Confirm, ErrorText, Field, Link, Notice, isAdmin, useLoad, mib } from '../components.jsx';
import { t } from '../i18n/index.js';
import { useLiveReload } from '../live.js';
import { treeOrder, intOr } from './pools_common.js';
import './pools.css';

const NUMS = ['cpu_shares', 'cpu_reservation_pct', 'cpu_limit_pct', 'mem_reservation_mib', 'mem_limit_mib'];
const LIMITS = new Set(['cpu_limit_pct', 'mem_limit_mib']);
const BLANK = { name: '', parent: '', cpu_shares: '100', cpu_reservation_pct: '0', cpu_limit_pct: '',
  mem_reservation_mib: '0', mem_limit_mib: '', expandable: true, description: '' };

const formOf = (p) => ({
  ...BLANK, name: p.name, expandable: !!p.expandable, description: p.description || '',
  ...Object.fromEntries(NUMS.map((k) => [k, p[k] == null ? '' : String(p[k])])),
});

// The form as a request body. A new pool: every value given (an empty
// limit is none). An edit: only what changed, a limit emptied as null
// (which removes it); an emptied reservation or shares goes as typed, so
// that vdcd says which field wants a number.
function body(form, was, clusterId) {
  const b = {};
  for (const k of NUMS) {
    const v = intOr(form[k]);
    if (!was) { if (v !== null) b[k] = v; continue; }
    if (v === null && !LIMITS.has(k)) b[k] = form[k];
    else if (v !== (was[k] ?? null)) b[k] = v;
  }
  if (!was || form.expandable !== !!was.expandable) b.expandable = form.expandable;
  if (was ? form.description !== (was.description || '') : form.description) b.description = form.description;
  if (!was) {
    b.name = form.name;
    b.cluster = clusterId;
    if (form.parent) b.parent = form.parent;
  }
  return b;
}

const cpu = (n) => (n == null ? t('pools.no_limit') : n + '%');
const mem = (n) => (n == null ? t('pools.no_limit') : mib(n));

// How much of a reservation is held: a meter when there is a reservation
// to measure against, and the numbers either way (an expandable pool may
// hold more than its own, borrowed from its parent). Nothing reserved and
// nothing held is nothing to show ("0% of 0%" says nothing).
function Held({ used, of, fmt, label }) {
  if (!of && !used) return null;
  return (
    <span class="pool-held">
      {of > 0 ? <meter min="0" max={of} high={of * 0.9} value={Math.min(used, of)} aria-label={label} /> : null}
      {t('pools.held', { used: fmt(used), of: fmt(of) })}
    </span>
  );
}

function Capacity({ c }) {
  return (
    <dl class="summary" data-testid="pool-capacity">
      <dt>{t('pools.cluster_cpu')}</dt>
      <dd>{c.capacity_cpu_pct || c.reserved_cpu_pct ? <Held used={c.reserved_cpu_pct} of={c.capacity_cpu_pct} fmt={cpu} label={t('pools.cluster_cpu')} /> : '-'}</dd>
      <dt>{t('pools.cluster_mem')}</dt>
      <dd>{c.capacity_mem_mib || c.reserved_mem_mib ? <Held used={c.reserved_mem_mib} of={c.capacity_mem_mib} fmt={mem} label={t('pools.cluster_mem')} /> : '-'}</dd>
      <dt>{t('pools.root_vms')}</dt>
      <dd>{t('pools.vms_value', { vms: c.vms, running: c.vms_running })}</dd>
    </dl>
  );
}

function PoolForm({ prefix, form, setForm, editing, parents }) {
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  const num = (k, label, hint) => (
    <Field label={label} id={prefix + '-' + k} hint={hint}>
      <input id={prefix + '-' + k} inputmode="numeric" required={!LIMITS.has(k)} value={form[k]} onInput={set(k)}
        aria-describedby={hint ? prefix + '-' + k + '-hint' : undefined} />
    </Field>
  );
  return (
    <>
      <div class="row">
        {editing ? null : (
          <Field label={t('common.name')} id={prefix + '-name'}>
            <input id={prefix + '-name'} required maxLength={63} value={form.name} onInput={set('name')} />
          </Field>
        )}
        {editing ? null : (
          <Field label={t('pools.parent')} id={prefix + '-parent'}>
            <select id={prefix + '-parent'} value={form.parent} onChange={set('parent')}>
              <option value="">{t('pools.parent_root')}</option>
              {parents.map(({ pool, depth }) => <option value={pool.id}>{'\u2014 '.repeat(depth) + pool.name}</option>)}
            </select>
          </Field>
        )}
        {num('cpu_shares', t('pools.shares'), t('pools.shares_hint'))}
      </div>
      <div class="row">
        {num('cpu_reservation_pct', t('pools.cpu_reservation'), t('pools.cpu_hint'))}
        {num('cpu_limit_pct', t('pools.cpu_limit'), t('pools.limit_hint'))}
        {num('mem_reservation_mib', t('pools.mem_reservation'))}
        {num('mem_limit_mib', t('pools.mem_limit'), t('pools.limit_hint'))}
      </div>
      <div class="row">
        <label class="check"><input type="checkbox" id={prefix + '-expandable'} checked={form.expandable} onChange={set('expandable')} /> {t('pools.expandable')}</label>
        <Field label={t('pools.description')} id={prefix + '-description'}>
          <input id={prefix + '-description'} maxLength={1024} value={form.description} onInput={set('description')} />
        </Field>
      </div>
    </>
  );
}

export function PoolsPage({ id }) {
  const admin = isAdmin();
  const [view, error, reload] = useLoad(() => get('/api/v1/clusters/' + enc(id) + '/pools'), [id]);
  // What is reserved moves with every VM that starts, stops or moves.
  useLiveReload(reload, (name) => name.startsWith('pool.') || name.startsWith('vm.'));
  const [form, setForm] = useState(BLANK);
  const [edit, setEdit] = useState(null); // {pool, form}
  const [gone, setGone] = useState(null); // the pool asked to be deleted
  const [actErr, setActErr] = useState(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const rows = view ? treeOrder(view.pools) : [];
  async function act(fn, message) {
    setBusy(true); setActErr(null); setDone('');
    try { await fn(); setDone(message); reload(); return true; } catch (e) { setActErr(e); return false; } finally { setBusy(false); }
  }
  const create = (e) => {
    e.preventDefault();
    act(() => post('/api/v1/pools', body(form, null, view.cluster.id)), t('pools.created', { name: form.name })).then((ok) => ok && setForm(BLANK));
  };
  const save = (e) => {
    e.preventDefault();
    const p = edit.pool, b = body(edit.form, p);
    if (!Object.keys(b).length) { setEdit(null); return; }
    act(() => api('PATCH', '/api/v1/pools/' + enc(p.id), b), t('pools.updated', { name: p.name })).then((ok) => ok && setEdit(null));
  };
  const remove = () => {
    const p = gone;
    setGone(null);
    act(() => del('/api/v1/pools/' + enc(p.id)), t('pools.deleted', { name: p.name }));
  };
  const clear = () => { setActErr(null); setDone(''); };
  // 409 in_use: vdcd's message says what the pool still holds.
  const errText = actErr && actErr.code === 'in_use' ? { message: t('pools.in_use', { detail: actErr.message }) } : actErr;
  return (
    <section data-testid="pools">
      <div class="page-head">
        <h1>{t('pools.title', { name: view ? view.cluster.name : id })}</h1>
        <div class="links"><Link href="/clusters">{t('pools.back')}</Link></div>
      </div>
      <p class="muted">{t('pools.intro')}</p>
      <ErrorText error={error} />
      {view ? <Capacity c={view.cluster} /> : null}
      <Notice text={done} kind="ok" />
      <ErrorText error={errText} />
      {view && !rows.length ? <p class="muted">{t('pools.none_yet')}</p> : null}
      {rows.length ? (
        <table data-testid="pool-table">
          <thead><tr>
            <th scope="col">{t('common.name')}</th>
            <th scope="col">{t('pools.shares')}</th>
            <th scope="col">{t('pools.col_cpu')}</th>
            <th scope="col">{t('pools.col_mem')}</th>
            <th scope="col">{t('pools.col_expandable')}</th>
            <th scope="col">{t('pools.col_held')}</th>
            <th scope="col">{t('pools.col_vms')}</th>
            {admin ? <th scope="col"><span class="sr-only">{t('common.actions')}</span></th> : null}
          </tr></thead>
          <tbody>
            {rows.map(({ pool: p, depth }) => (
              <tr data-pool={p.name} data-depth={depth}>
                <td class={'pool-name pool-depth-' + Math.min(depth, 6)}>{depth ? <span aria-hidden="true">└ </span> : null}{p.name}
                  {p.description ? <small class="muted pool-desc">{p.description}</small> : null}</td>
                <td data-testid="shares">{p.cpu_shares}</td>
                <td data-testid="cpu">{cpu(p.cpu_reservation_pct)} / {cpu(p.cpu_limit_pct)}</td>
                <td data-testid="mem">{mem(p.mem_reservation_mib)} / {mem(p.mem_limit_mib)}</td>
                <td data-testid="expandable">{p.expandable ? t('pools.yes') : t('pools.no')}</td>
                <td data-testid="held" class="pool-held-cell">
                  <Held used={p.reserved_cpu_pct} of={p.cpu_reservation_pct} fmt={cpu} label={t('pools.held_cpu', { name: p.name })} />
                  <Held used={p.reserved_mem_mib} of={p.mem_reservation_mib} fmt={mem} label={t('pools.held_mem', { name: p.name })} />
                  {p.cpu_reservation_pct || p.reserved_cpu_pct || p.mem_reservation_mib || p.reserved_mem_mib ? null : '-'}
                </td>
                <td data-testid="vms">{t('pools.vms_value', { vms: p.vms, running: p.vms_running })}</td>
                {admin ? (
                  <td class="pool-actions">
                    <button type="button" class="link" onClick={() => { clear(); setEdit({ pool: p, form: formOf(p) }); }} aria-label={t('pools.edit', { name: p.name })}>{t('pools.edit_short')}</button>
                    <button type="button" class="link danger" onClick={() => { clear(); setGone(p); }} aria-label={t('pools.delete', { name: p.name })}>{t('common.delete')}</button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {admin && edit ? (
        <form onSubmit={save} data-testid="pool-edit">
          <h2>{t('pools.edit', { name: edit.pool.name })}</h2>
          <p class="muted">{t('pools.edit_hint')}</p>
          <PoolForm prefix="pe" form={edit.form} setForm={(f) => setEdit({ ...edit, form: f })} editing />
          <button type="submit" class="primary" disabled={busy}>{t('pools.save')}</button>
          <button type="button" onClick={() => { setEdit(null); setActErr(null); }}>{t('common.cancel')}</button>
        </form>
      ) : null}
      {admin && view ? (
        <form onSubmit={create} data-testid="pool-create">
          <h2>{t('pools.create')}</h2>
          <PoolForm prefix="pc" form={form} setForm={setForm} parents={rows} />
          <button type="submit" disabled={busy}>{t('pools.create')}</button>
        </form>
      ) : null}
      <Confirm open={!!gone} danger title={gone ? t('pools.delete', { name: gone.name }) : ''}
        body={t('pools.delete_body')} confirmLabel={t('common.delete')}
        onConfirm={remove} onCancel={() => setGone(null)} />
    </section>
  );
}
