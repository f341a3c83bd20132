// A host's HA on its page (clusters with HA on): HA's verdict (connected,
// silent, isolated, fencing, failed...) with its reason and since when,
// how many of its VMs it confirmed it fences (only those are restarted
// elsewhere when it fails), and the link to its cluster's HA page, where
// the incident timeline is.
import { enc } from '../api.js';
import { HaBadge, Link, When } from '../components.jsx';
import { t } from '../i18n/index.js';

export function HostHa({ host }) {
  const ha = host.ha;
  const prot = host.ha_protected || [];
  return (
    <section aria-labelledby="host-ha-title" data-testid="host-ha">
      <h2 id="host-ha-title">{t('ha.short')}</h2>
      {ha ? (
        <dl class="summary">
          <dt>{t('ha.ha_state')}</dt><dd><HaBadge ha={ha} /></dd>
          <dt>{t('ha.reason')}</dt><dd data-testid="host-ha-reason">{ha.reason || '-'}</dd>
          <dt>{t('hostha.since')}</dt><dd><When iso={ha.since} /></dd>
          <dt>{t('hostha.protected')}</dt><dd data-testid="host-ha-protected">{t('hostha.protected_value', { n: prot.length })}</dd>
        </dl>
      ) : <p class="muted" data-testid="host-ha-none">{t('hostha.none')}</p>}
      <p><Link href={'/clusters/' + enc(host.cluster_id) + '/ha'}>{t('hostha.cluster_link')}</Link></p>
    </section>
  );
}
