// A VM's high availability on its page: its restart priority and isolation
// response (its own, or its cluster's default), whether its cluster has HA
// on, its last HA restart (from which host to which, when, and vdcd's
// reason), and HA's hold on it when a restart found its disk in use. System administrators change the two settings (POST
// /vms/{id}/ha, as the API says: a priority decides who gets a failed
// host's capacity first); everyone else is told who may.
import { useEffect, useState } from 'preact/hooks';
import { get, post, enc } from '../api.js';
import { ErrorText, Field, Link, When, isAdmin, useLoad } from '../components.jsx';
import { t } from '../i18n/index.js';
import { PRIORITIES, RESPONSES } from './ha_choices.js';

// Host names by id, for administrators (hosts are theirs in the API);
// others see the start of the id.
async function hostNames(ids) {
  const out = {};
  await Promise.all(ids.filter(Boolean).map((id) => get('/api/v1/hosts/' + enc(id)).then((h) => { out[id] = h.name; }, () => {})));
  return out;
}

function LastRestart({ last, names }) {
  if (!last) return <dd data-testid="vm-ha-last" class="muted">{t('vmha.never')}</dd>;
  const host = (id) => (id ? (names[id] ? <Link href={'/objects/hosts/' + enc(id)}>{names[id]}</Link> : <span class="mono">{id.slice(0, 8)}</span>) : '?');
  return (
    <dd data-testid="vm-ha-last">
      <span data-testid="vm-ha-last-route">{t('vmha.from')} {host(last.from_host_id)} {t('vmha.to')} {host(last.to_host_id)}</span>
      {last.at ? <> · <When iso={last.at} /></> : null}
      {last.reason ? <div class="muted" data-testid="vm-ha-last-reason">{last.reason}</div> : null}
    </dd>
  );
}

export function VmHa({ vm, onDone }) {
  const admin = isAdmin();
  const ha = vm.ha || {};
  const last = vm.ha_last || null;
  const [cluster] = useLoad(() => (vm.cluster_id ? get('/api/v1/clusters/' + enc(vm.cluster_id)) : Promise.resolve(null)), [vm.cluster_id]);
  const [names] = useLoad(() => (admin && last ? hostNames([last.from_host_id, last.to_host_id]) : Promise.resolve({})),
    [admin, last && last.from_host_id, last && last.to_host_id]);
  const [prio, setPrio] = useState(ha.priority || '');
  const [iso, setIso] = useState(ha.isolation_response || '');
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => { setPrio(ha.priority || ''); setIso(ha.isolation_response || ''); }, [ha.priority, ha.isolation_response]);
  const cha = (cluster && cluster.ha) || {};
  const clusterPrio = cha.default_priority || 'medium';
  const clusterIso = cha.isolation_response || 'leave';
  const prioText = ha.priority ? t('ha.priority_' + ha.priority) : t('vmha.cluster_default', { value: t('ha.priority_' + clusterPrio) });
  const isoText = ha.isolation_response ? t('ha.response_' + ha.isolation_response) : t('vmha.cluster_default', { value: t('ha.response_' + clusterIso) });

  async function save(e) {
    e.preventDefault();
    setError(null); setSaved('');
    // Only what changed (vdcd has no way back to the cluster's default:
    // a VM that set one keeps one).
    const b = {};
    if (prio && prio !== (ha.priority || '')) b.priority = prio;
    if (iso && iso !== (ha.isolation_response || '')) b.isolation_response = iso;
    if (!Object.keys(b).length) { setSaved(t('ha.no_change')); return; }
    setBusy(true);
    try {
      await post('/api/v1/vms/' + enc(vm.id) + '/ha', b);
      setSaved(t('vmha.saved'));
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="vm-ha-title" data-testid="vm-ha">
      <h2 id="vm-ha-title">{t('ha.short')}</h2>
      {cluster && !cha.enabled ? (
        <p class="notice" data-testid="vm-ha-off">{t('vmha.cluster_off', { name: cluster.name })}</p>
      ) : null}
      {vm.ha_hold ? (
        <p class="notice" role="alert" data-testid="vm-ha-hold">
          {t('vmha.held', { at: vm.ha_hold.at || '?' })}{vm.ha_hold.reason || ''}
        </p>
      ) : null}
      <dl class="summary">
        <dt>{t('vmha.priority')}</dt><dd data-testid="vm-ha-priority">{prioText}</dd>
        <dt>{t('ha.isolation_response')}</dt><dd data-testid="vm-ha-isolation">{isoText}</dd>
        {cluster ? <><dt>{t('vmha.cluster')}</dt><dd>{admin ? <Link href={'/clusters/' + enc(cluster.id) + '/ha'}>{t('ha.title', { name: cluster.name })}</Link> : cluster.name}</dd></> : null}
        <dt>{t('vmha.last')}</dt>
        <LastRestart last={last} names={names || {}} />
      </dl>
      {admin ? (
        <form class="inline" onSubmit={save} data-testid="vm-ha-form" aria-label={t('vmha.form_label')}>
          <Field label={t('vmha.priority')} id="vmha-priority">
            <select id="vmha-priority" value={prio} onChange={(e) => setPrio(e.currentTarget.value)}>
              {ha.priority ? null : <option value="">{t('vmha.cluster_default', { value: t('ha.priority_' + clusterPrio) })}</option>}
              {PRIORITIES.map((p) => <option value={p}>{t('ha.priority_' + p)}</option>)}
            </select>
          </Field>
          <Field label={t('ha.isolation_response')} id="vmha-isolation">
            <select id="vmha-isolation" value={iso} onChange={(e) => setIso(e.currentTarget.value)}>
              {ha.isolation_response ? null : <option value="">{t('vmha.cluster_default', { value: t('ha.response_' + clusterIso) })}</option>}
              {RESPONSES.map((r) => <option value={r}>{t('ha.response_' + r)}</option>)}
            </select>
          </Field>
          <button type="submit" disabled={busy} data-testid="vm-ha-save">{t('vmha.save')}</button>
        </form>
      ) : <p class="muted" data-testid="vm-ha-readonly">{t('vmha.readonly')}</p>}
      <ErrorText error={error} />
      {saved ? <p class="good" role="status" data-testid="vm-ha-result">{saved}</p> : null}
    </section>
  );
}
