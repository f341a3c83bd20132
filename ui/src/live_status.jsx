// The small "live / reconnecting" mark in the header: whether what the
// pages show follows vdcd by itself (live.js) or is being caught up.
import { useLiveStatus } from './live.js';
import { t } from './i18n/index.js';
import './live.css';

export function LiveIndicator() {
  const s = useLiveStatus();
  return (
    <span class={'live-mark live-' + s} role="status" data-testid="live-status" data-state={s}
      title={t('live.hint_' + s)}>
      <span class="live-dot" aria-hidden="true" /><span class="live-text">{t('live.status_' + s)}</span>
    </span>
  );
}
