// Any other object of the inventory (cluster, host, template, image,
// network, datastore): its fields as the API gives them. A host's page
// (administrators) also has its HA verdict (host_ha.jsx), maintenance and
// power, and follows the host's state and HA verdict live.
import { get, enc } from '../api.js';
import { ErrorText, HaBadge, Link, StateBadge, useLoad, bytes, isAdmin } from '../components.jsx';
import { useLiveReload } from '../live.js';
import { t } from '../i18n/index.js';
import { HostMaintenance } from './host_maintenance.jsx';
import { HostPower } from './host_power.jsx';
import { HostHa } from './host_ha.jsx';

const KINDS = ['clusters', 'hosts', 'templates', 'images', 'networks', 'datastores'];

function show(v) {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return <code class="json">{JSON.stringify(v, null, 1)}</code>;
  return String(v);
}

export function ObjectPage({ kind, id }) {
  const ok = KINDS.includes(kind);
  const [o, error, reload] = useLoad(() => (ok ? get('/api/v1/' + kind + '/' + enc(id)) : Promise.reject(new Error(t('notfound.body')))), [kind, id]);
  // A host: read again when its state or HA verdict changes (not on each
  // heartbeat).
  const shown = o && kind === 'hosts' ? o.state + '/' + (o.ha ? o.ha.state : '') : null;
  useLiveReload(reload, (name, d) => shown !== null && name === 'host.updated' && d && d.doc && d.id === o.id &&
    d.doc.state + '/' + (d.doc.ha ? d.doc.ha.state : '') !== shown, kind === 'hosts' ? 5000 : 0, 500);
  return (
    <section>
      <p class="muted">{t('kind.' + kind)}</p>
      <h1>{o ? o.name : id} {o && (o.state || o.power_state) ? <StateBadge state={o.state || o.power_state} /> : null} {kind === 'hosts' && o && o.ha ? <HaBadge ha={o.ha} /> : null}</h1>
      <ErrorText error={error} />
      {kind === 'hosts' && o ? <p><Link href={'/hosts/' + enc(o.id) + '/charts'}>{t('vm.charts')}</Link></p> : null}
      {kind === 'hosts' && o ? <HostHa host={o} /> : null}
      {kind === 'hosts' && o && isAdmin() ? <HostMaintenance host={o} onDone={reload} /> : null}
      {kind === 'hosts' && o && isAdmin() ? <HostPower host={o} onDone={reload} /> : null}
      {o ? (
        <dl class="summary">
          {Object.keys(o).filter((k) => k !== 'name').map((k) => (
            <><dt>{k}</dt><dd>{/_bytes$/.test(k) && typeof o[k] === 'number' ? bytes(o[k]) : show(o[k])}</dd></>
          ))}
        </dl>
      ) : null}
    </section>
  );
}
