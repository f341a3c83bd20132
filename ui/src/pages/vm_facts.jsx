// What the VM page says of where placement put a VM and why (kept on the
// VM when it was created), and why its QEMU last ended (the host's agent
// reports it; vdcd keeps the newest): rows of the summary's list.
import { t } from '../i18n/index.js';

export function PlacementFacts({ p }) {
  if (!p) return <><dt>{t('vm.placement')}</dt><dd>-</dd></>;
  return (
    <>
      <dt>{t('vm.placement')}</dt>
      <dd data-testid="placement-facts">
        {p.summary || '-'}
        {p.reason ? <div class="muted">{t('facts.chosen_because', { reason: p.reason })}</div> : null}
        {p.rejected && Object.keys(p.rejected).length ? (
          <div class="muted">{t('facts.rejected', { list: Object.keys(p.rejected).map((f) => f + ' ' + p.rejected[f]).join(', ') })}</div>
        ) : null}
      </dd>
    </>
  );
}

export function LastExit({ le }) {
  if (!le) return null;
  const cause = le.cause || 'unknown';
  return (
    <>
      <dt>{t('vm.last_exit')}</dt>
      <dd data-testid="last-exit" data-cause={cause}>
        <strong>{t('facts.cause.' + cause)}</strong>
        {le.signal_name ? ' (' + le.signal_name + ')' : ''}
        {le.at ? ' · ' + new Date(le.at).toLocaleString() : ''}
        {le.reason ? <div class="muted">{le.reason}</div> : null}
      </dd>
    </>
  );
}
