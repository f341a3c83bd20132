// Slots for pages other work fills in: the consoles (noVNC, xterm.js over
// vdcd's WebSocket proxies). Each keeps its route so that links to it
// work today. Whoever fills one should import() its libraries from here,
// so that they load only when the page opens.
import { enc } from '../api.js';
import { Link } from '../components.jsx';
import { t } from '../i18n/index.js';

export function ConsoleSlot({ id }) {
  return (
    <section>
      <h1>{t('slot.console')}</h1>
      <p>{t('slot.console_body')}</p>
      <p><Link href={'/vms/' + enc(id)}>{t('slot.back')}</Link></p>
    </section>
  );
}
