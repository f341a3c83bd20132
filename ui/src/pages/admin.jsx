// Administration: hosts (and the join-token flow), users, projects with
// their members and quotas, and the signed-in user's own API tokens.
import { useState } from 'preact/hooks';
import { get, post, put, del, enc } from '../api.js';
import { ErrorText, Field, HaBadge, Link, Notice, StateBadge, useLoad, mib } from '../components.jsx';
import { useLiveReload } from '../live.js';
import { t } from '../i18n/index.js';

function useAction(after) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function act(fn) {
    setBusy(true); setError(null);
    try { const r = await fn(); if (after) after(r); return r; } catch (e) { setError(e); return null; } finally { setBusy(false); }
  }
  return [act, error, busy];
}

export function AdminHosts() {
  const [hosts, error, reload] = useLoad(() => get('/api/v1/hosts?limit=1000'), []);
  const [clusters] = useLoad(() => get('/api/v1/clusters?limit=1000'), []);
  // A host's state or HA verdict changed (not its heartbeats): read again.
  const seen = {};
  for (const h of (hosts && hosts.items) || []) seen[h.id] = h.state + '/' + (h.ha ? h.ha.state : '');
  useLiveReload(reload, (name, d) => (name === 'host.created' || name === 'host.deleted') ||
    (name === 'host.updated' && d && d.doc && seen[d.id] !== d.doc.state + '/' + (d.doc.ha ? d.doc.ha.state : '')), 10000, 500);
  const [cluster, setCluster] = useState('');
  const [join, setJoin] = useState(null);
  const [act, actErr, busy] = useAction(setJoin);
  const clist = (clusters && clusters.items) || [];
  return (
    <section>
      <h1>{t('nav.hosts')}</h1>
      <ErrorText error={error} />
      {hosts ? (
        <table>
          <thead><tr><th scope="col">{t('common.name')}</th><th scope="col">{t('vm.state')}</th><th scope="col">{t('ha.short')}</th><th scope="col">{t('hosts.address')}</th><th scope="col">{t('hosts.capacity')}</th></tr></thead>
          <tbody>
            {hosts.items.map((h) => (
              <tr data-host={h.name}>
                <td><Link href={'/objects/hosts/' + enc(h.id)}>{h.name}</Link></td>
                <td><StateBadge state={h.state} /></td>
                <td>{h.ha ? <HaBadge ha={h.ha} srReason /> : <span class="muted">-</span>}</td>
                <td class="mono">{h.address || h.url || '-'}</td>
                <td>{h.capacity ? t('hosts.capacity_value', { cpus: h.capacity.cpus ?? h.capacity.vcpus ?? '?', memory: mib(h.capacity.memory_mib) }) : '-'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <form onSubmit={(e) => { e.preventDefault(); act(() => post('/api/v1/hosts/join-tokens', { cluster: cluster || (clist[0] && clist[0].name) })); }}>
        <h2>{t('hosts.join_title')}</h2>
        <p class="muted">{t('hosts.join_hint')}</p>
        <Field label={t('kind.clusters')} id="join-cluster">
          <select id="join-cluster" value={cluster} onChange={(e) => setCluster(e.currentTarget.value)}>
            {clist.map((c) => <option value={c.name}>{c.name}</option>)}
          </select>
        </Field>
        <ErrorText error={actErr} />
        <button type="submit" disabled={busy || !clist.length}>{t('hosts.join_make')}</button>
      </form>
      {join ? (
        <div class="secret" data-testid="join-token">
          <p>{t('hosts.join_once', { expires: join.expires_at })}</p>
          <dl class="summary">
            <dt>{t('hosts.join_token')}</dt><dd class="mono">{join.token}</dd>
            <dt>{t('hosts.ca_fingerprint')}</dt><dd class="mono">{join.ca_fingerprint}</dd>
          </dl>
          <p>{t('hosts.join_command')}</p>
          <pre class="mono">{`vdc-agent --manager-url ${location.origin} --join-token ${join.token} --manager-ca-fingerprint ${join.ca_fingerprint || ''}`}</pre>
        </div>
      ) : null}
    </section>
  );
}

export function AdminUsers() {
  const [users, error, reload] = useLoad(() => get('/api/v1/users?limit=1000'), []);
  const [form, setForm] = useState({ name: '', password: '', admin: false });
  const [act, actErr, busy] = useAction(() => { setForm({ name: '', password: '', admin: false }); reload(); });
  return (
    <section>
      <h1>{t('nav.users')}</h1>
      <ErrorText error={error} />
      {users ? (
        <ul class="plain">{users.items.map((u) => (
          <li>{u.name} {u.admin ? <span class="badge">{t('users.admin')}</span> : null}
            <button type="button" class="link danger" onClick={() => act(() => del('/api/v1/users/' + enc(u.id)))} aria-label={t('users.delete', { name: u.name })}>{t('common.delete')}</button>
          </li>))}
        </ul>
      ) : null}
      <form onSubmit={(e) => { e.preventDefault(); act(() => post('/api/v1/users', { name: form.name, password: form.password || undefined, admin: form.admin })); }}>
        <h2>{t('users.create')}</h2>
        <div class="row">
          <Field label={t('common.name')} id="u-name"><input id="u-name" required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} /></Field>
          <Field label={t('signin.password')} id="u-pw"><input id="u-pw" type="password" autocomplete="new-password" minLength={8} value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} /></Field>
          <label class="check"><input type="checkbox" checked={form.admin} onChange={(e) => setForm({ ...form, admin: e.currentTarget.checked })} /> {t('users.admin')}</label>
        </div>
        <ErrorText error={actErr} />
        <button type="submit" disabled={busy}>{t('users.create')}</button>
      </form>
    </section>
  );
}

export function AdminProjects() {
  const [projects, error, reload] = useLoad(() => get('/api/v1/projects?limit=1000'), []);
  const [name, setName] = useState('');
  const [act, actErr, busy] = useAction(() => { setName(''); reload(); });
  return (
    <section>
      <h1>{t('nav.projects')}</h1>
      <ErrorText error={error} />
      {projects ? <ul class="plain">{projects.items.map((p) => <li><Link href={'/admin/projects/' + enc(p.id)}>{p.name}</Link></li>)}</ul> : null}
      <form onSubmit={(e) => { e.preventDefault(); act(() => post('/api/v1/projects', { name })); }}>
        <h2>{t('projects.create')}</h2>
        <Field label={t('common.name')} id="p-name"><input id="p-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} /></Field>
        <ErrorText error={actErr} />
        <button type="submit" disabled={busy}>{t('projects.create')}</button>
      </form>
    </section>
  );
}

const QUOTAS = [['vms', ''], ['vcpus', ''], ['memory_mib', 'MiB'], ['disk_mib', 'MiB']];

export function AdminProject({ id }) {
  const base = '/api/v1/projects/' + enc(id);
  const [project, error] = useLoad(() => get(base), [id]);
  const [members, mErr, reloadMembers] = useLoad(() => get(base + '/members?limit=1000'), [id]);
  const [quota, qErr, reloadQuota] = useLoad(() => get(base + '/quota'), [id]);
  const [member, setMember] = useState({ user: '', role: 'viewer' });
  const [limits, setLimits] = useState(null);
  const [act, actErr, busy] = useAction(() => { reloadMembers(); reloadQuota(); setLimits(null); });
  const q = limits || (quota ? Object.fromEntries(QUOTAS.map(([k]) => [k, quota.quota[k] ?? ''])) : {});
  return (
    <section>
      <h1>{project ? project.name : id}</h1>
      <ErrorText error={error || mErr || qErr || actErr} />
      <h2>{t('projects.members')}</h2>
      {members ? (
        <ul class="plain">{members.items.map((m) => (
          <li>{m.user || m.user_id} <span class="badge">{t('role.' + m.role)}</span>
            <button type="button" class="link danger" onClick={() => act(() => del(base + '/members/' + enc(m.user || m.user_id)))} aria-label={t('projects.remove', { name: m.user || m.user_id })}>{t('common.remove')}</button>
          </li>))}
        </ul>
      ) : null}
      <form class="inline" onSubmit={(e) => { e.preventDefault(); act(() => post(base + '/members', member)); }}>
        <Field label={t('projects.user')} id="m-user"><input id="m-user" required value={member.user} onInput={(e) => setMember({ ...member, user: e.currentTarget.value })} /></Field>
        <Field label={t('projects.role')} id="m-role">
          <select id="m-role" value={member.role} onChange={(e) => setMember({ ...member, role: e.currentTarget.value })}>
            {['viewer', 'operator', 'admin'].map((r) => <option value={r}>{t('role.' + r)}</option>)}
          </select>
        </Field>
        <button type="submit" disabled={busy}>{t('projects.add_member')}</button>
      </form>
      <h2>{t('projects.quota')}</h2>
      {quota ? (
        <form onSubmit={(e) => { e.preventDefault(); act(() => put(base + '/quota', Object.fromEntries(QUOTAS.map(([k]) => [k, q[k] === '' ? null : +q[k]])))); }}>
          <table>
            <thead><tr><th scope="col">{t('projects.resource')}</th><th scope="col">{t('projects.used')}</th><th scope="col">{t('projects.limit')}</th></tr></thead>
            <tbody>
              {QUOTAS.map(([k, unit]) => (
                <tr>
                  <td>{t('quota.' + k)}</td>
                  <td>{quota.usage[k] ?? 0}{unit ? ' ' + unit : ''}</td>
                  <td><label class="sr-only" for={'q-' + k}>{t('projects.limit')} {t('quota.' + k)}</label>
                    <input id={'q-' + k} type="number" min="0" placeholder={t('projects.unlimited')} value={q[k]} onInput={(e) => setLimits({ ...q, [k]: e.currentTarget.value })} /></td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="submit" disabled={busy}>{t('projects.set_quota')}</button>
        </form>
      ) : null}
    </section>
  );
}

export function Tokens() {
  const [tokens, error, reload] = useLoad(() => get('/api/v1/tokens?limit=1000'), []);
  const [name, setName] = useState('');
  const [made, setMade] = useState(null);
  const [act, actErr, busy] = useAction(reload);
  return (
    <section>
      <h1>{t('nav.tokens')}</h1>
      <ErrorText error={error || actErr} />
      {tokens ? (
        <table>
          <thead><tr><th scope="col">{t('common.name')}</th><th scope="col">{t('tokens.expires')}</th><th scope="col"><span class="sr-only">{t('common.actions')}</span></th></tr></thead>
          <tbody>{tokens.items.map((tk) => (
            <tr><td>{tk.name}</td><td>{tk.expires_at || t('tokens.never')}</td>
              <td><button type="button" class="link danger" onClick={() => act(() => del('/api/v1/tokens/' + enc(tk.id)))} aria-label={t('tokens.revoke', { name: tk.name })}>{t('tokens.revoke_short')}</button></td></tr>
          ))}</tbody>
        </table>
      ) : null}
      <form class="inline" onSubmit={async (e) => { e.preventDefault(); const r = await act(() => post('/api/v1/tokens', { name })); if (r) { setMade(r); setName(''); } }}>
        <Field label={t('common.name')} id="tk-name"><input id="tk-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} /></Field>
        <button type="submit" disabled={busy}>{t('tokens.create')}</button>
      </form>
      {made ? <div class="secret"><p>{t('tokens.once')}</p><p class="mono">{made.token}</p></div> : null}
    </section>
  );
}
