// A VM's CD-ROM drive (POST /api/v1/vms/{id}/cdrom): insert an ISO of the
// image library, eject it (also while the VM runs), or remove the drive (a
// stopped VM); a stopped VM without a drive gets one with its first ISO.
// Each change is a task, followed by the VM page's run().
import { useEffect, useState } from 'preact/hooks';
import { get, post, enc } from '../api.js';
import { Field } from '../components.jsx';
import { t } from '../i18n/index.js';

// What the drive holds, in words (the summary's line too).
export function cdromText(cfg) {
  const cd = (cfg || {}).cdrom;
  if (!cd) return t('cdrom.none');
  return cd.image ? cd.image : t('cdrom.empty');
}

export function VmCdrom({ vm, busy, run }) {
  const cd = (vm.config || {}).cdrom;
  const [isos, setIsos] = useState(null);
  const [pick, setPick] = useState('');
  useEffect(() => {
    get('/api/v1/images').then(
      (r) => setIsos((r.items || []).filter((i) => i.kind === 'iso' && i.state === 'active')),
      () => setIsos([]));
  }, [vm.id]);
  const stopped = ['stopped', 'crashed'].includes(vm.power_state);
  const live = ['running', 'paused'].includes(vm.power_state);
  const base = '/api/v1/vms/' + enc(vm.id) + '/cdrom';
  const chosen = pick || (isos && isos[0] ? isos[0].name : '');
  const canInsert = (cd ? stopped || live : stopped) && chosen && !busy;
  function insert(e) {
    e.preventDefault();
    run(t('cdrom.insert'), () => post(base, { image: chosen }));
  }
  return (
    <form onSubmit={insert} aria-labelledby="cdrom-title" data-testid="cdrom-form">
      <h2 id="cdrom-title">{t('cdrom.title')}</h2>
      <p class="muted">{cd ? t('cdrom.hint') : stopped ? t('cdrom.hint_add') : t('cdrom.hint_stopped')}</p>
      <div class="row">
        <Field label={t('cdrom.iso')} id="cd-iso">
          <select id="cd-iso" value={chosen} onChange={(e) => setPick(e.currentTarget.value)} data-testid="cdrom-iso">
            {(isos || []).map((i) => <option value={i.name}>{i.name}</option>)}
          </select>
        </Field>
        <button type="submit" disabled={!canInsert} data-testid="cdrom-insert">{t('cdrom.insert')}</button>
        {cd && cd.image ? (
          <button type="button" disabled={busy || !(stopped || live)} data-testid="cdrom-eject"
            onClick={() => run(t('cdrom.eject'), () => post(base, { image: null }))}>{t('cdrom.eject')}</button>
        ) : null}
        {cd && stopped ? (
          <button type="button" class="danger" disabled={busy} data-testid="cdrom-remove"
            onClick={() => run(t('cdrom.remove'), () => post(base, { drive: false }))}>{t('cdrom.remove')}</button>
        ) : null}
      </div>
      {isos && isos.length === 0 ? <p class="muted" data-testid="cdrom-no-isos">{t('cdrom.no_isos')}</p> : null}
    </form>
  );
}
