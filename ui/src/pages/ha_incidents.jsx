// A cluster's HA incidents as vdcd groups them (GET
// /api/v1/clusters/{id}/ha/incidents): one row per incident, newest
// first, with the figures users ask first: how long until the host was
// fenced and until its last VM ran again, and how many VMs were placed,
// started, failed or refused. The timeline below has each step.
import { useEffect, useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { ErrorText, Link, When } from '../components.jsx';
import { t } from '../i18n/index.js';
import { useLiveReload } from '../live.js';

const secs = (s) => (typeof s === 'number' ? '+' + s.toFixed(1) + ' s' : '—');

export function HaIncidents({ clusterId }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  async function load() {
    try {
      const r = await get('/api/v1/clusters/' + enc(clusterId) + '/ha/incidents?limit=20');
      setItems(r.items);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => { load(); }, [clusterId]);
  useLiveReload(load, (name, d) => (name === 'event.created' && d && d.doc && /^(host|vm)\.ha_/.test(d.doc.action || '')) ||
    (name === 'task.ended' && d && d.doc && d.doc.op === 'vm.ha_restart'), 5000, 500);
  return (
    <section aria-labelledby="ha-incidents-title" data-testid="ha-incidents-section">
      <h2 id="ha-incidents-title">{t('ha.incidents')}</h2>
      <ErrorText error={error} />
      {items && items.length === 0 ? <p class="muted" data-testid="ha-incidents-empty">{t('ha.incidents_empty')}</p> : null}
      {items && items.length ? (
        <table data-testid="ha-incidents">
          <thead>
            <tr>
              <th scope="col">{t('ha.incident_of')}</th>
              <th scope="col">{t('ha.incident_state')}</th>
              <th scope="col">{t('ha.incident_opened')}</th>
              <th scope="col">{t('ha.incident_fenced')}</th>
              <th scope="col">{t('ha.incident_all_running')}</th>
              <th scope="col">{t('ha.incident_vms')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((inc) => {
              const who = inc.kind === 'vm' ? inc.vm : inc.host;
              const s = inc.summary || {};
              return (
                <tr data-incident={inc.id} data-kind={inc.kind} data-target={who && who.name} data-state={inc.state}>
                  <td>
                    {t('ha.kind_' + inc.kind)}{' '}
                    <Link href={inc.kind === 'vm' ? '/vms/' + enc(who.id) : '/objects/hosts/' + enc(who.id)}>{who && who.name}</Link>
                  </td>
                  <td>{t('ha.incident_' + inc.state)}</td>
                  <td><When iso={inc.opened_at} /></td>
                  <td data-testid="ha-incident-fenced">{secs(s.to_fenced_s)}</td>
                  <td data-testid="ha-incident-all-running">{secs(s.to_all_started_s)}</td>
                  <td data-testid="ha-incident-vms">{t('ha.incident_counts', { placed: s.vms_placed || 0, started: s.vms_started || 0, failed: s.vms_failed || 0, refused: s.vms_refused || 0 })}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
