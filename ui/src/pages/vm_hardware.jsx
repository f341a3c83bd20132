// The VM's hardware, edited as on vSphere and Proxmox: disks and NICs added
// after it was made, each with its state (a change that waits for the next
// start says "pending"), forms to add a disk (size, datastore) or a NIC (a
// network), and a remove button on each (a disk's file kept as an unused
// disk unless "delete its file" is ticked). Each change is a task, waited
// for; its end (pending and why, or the guest's refusal) is shown.
import { useState } from 'preact/hooks';
import { post, del, enc, waitTask } from '../api.js';
import { Field, ErrorText, mib } from '../components.jsx';
import { t } from '../i18n/index.js';

function stateText(s) {
  return t('hw.state.' + (s || 'attached'));
}

export function Hardware({ vm, writable, onDone }) {
  const cfg = vm.config || {};
  const disks = cfg.extra_disks || [];
  const nics = cfg.extra_nics || [];
  const [name, setName] = useState('');
  const [size, setSize] = useState('');
  const [ds, setDs] = useState('');
  const [net, setNet] = useState('');
  const [delFile, setDelFile] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [end, setEnd] = useState(null);
  const settled = ['running', 'paused', 'stopped', 'crashed'].includes(vm.power_state);

  async function change(method, path, body) {
    setError(null);
    setEnd(null);
    setBusy(true);
    try {
      const r = method === 'DELETE' ? await del(path) : await post(path, body);
      setEnd(await waitTask(r.task.id));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      onDone();
    }
  }
  const base = '/api/v1/vms/' + enc(vm.id);
  function addDisk(e) {
    e.preventDefault();
    const body = { name, size_mib: Number(size) };
    if (ds) body.datastore = ds;
    change('POST', base + '/disks', body);
  }
  function addNic(e) {
    e.preventDefault();
    change('POST', base + '/nics', { network: net });
  }
  const result = end && end.result;
  return (
    <section aria-labelledby="hw-title" data-testid="hardware">
      <h2 id="hw-title">{t('hw.title')}</h2>
      <table class="hw">
        <thead><tr><th>{t('hw.device')}</th><th>{t('hw.detail')}</th><th>{t('hw.state')}</th><th></th></tr></thead>
        <tbody>
          <tr><td>{t('hw.disk', { name: 'root' })}</td><td>{cfg.disk_size_mib ? mib(cfg.disk_size_mib) : t('vm.image_size')}, {cfg.datastore || 'local'}</td><td>{stateText()}</td><td></td></tr>
          {disks.map((d) => (
            <tr data-testid={'hw-disk-' + d.name}>
              <td>{t('hw.disk', { name: d.name })}</td>
              <td>{mib(d.size_mib)}, {d.datastore}</td>
              <td data-testid={'hw-disk-state-' + d.name} class={d.state && d.state.startsWith('pending') ? 'warn' : ''}>{stateText(d.state)}</td>
              <td>{writable ? (
                <button type="button" disabled={busy || !settled || d.state === 'adding' || d.state === 'removing'} data-testid={'hw-disk-remove-' + d.name}
                  onClick={() => change('DELETE', base + '/disks/' + enc(d.name) + (delFile ? '?delete=true' : ''))}>{t('hw.remove')}</button>
              ) : null}</td>
            </tr>
          ))}
          {(cfg.networks || []).map((n) => (
            <tr><td>{t('hw.nic')}</td><td>{n.name || n.bridge}</td><td>{stateText()}</td><td></td></tr>
          ))}
          {nics.map((n) => (
            <tr data-testid={'hw-nic-' + n.name}>
              <td>{t('hw.nic_named', { name: n.name })}</td>
              <td>{n.network}{n.mac ? ', ' + n.mac : ''}</td>
              <td data-testid={'hw-nic-state-' + n.name} class={n.state && n.state.startsWith('pending') ? 'warn' : ''}>{stateText(n.state)}</td>
              <td>{writable ? (
                <button type="button" disabled={busy || !settled || n.state === 'removing'} data-testid={'hw-nic-remove-' + n.name}
                  onClick={() => change('DELETE', base + '/nics/' + enc(n.name))}>{t('hw.remove')}</button>
              ) : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {writable ? (
        <>
          <label class="check"><input type="checkbox" checked={delFile} onChange={(e) => setDelFile(e.currentTarget.checked)} data-testid="hw-delete-file" /> {t('hw.delete_file')}</label>
          <form onSubmit={addDisk} data-testid="hw-add-disk">
            <h3>{t('hw.add_disk')}</h3>
            <p class="muted">{t('hw.add_disk_hint')}</p>
            <div class="row">
              <Field label={t('hw.name')} id="hw-name"><input id="hw-name" value={name} required onInput={(e) => setName(e.currentTarget.value)} data-testid="hw-disk-name" /></Field>
              <Field label={t('hw.size')} id="hw-size"><input id="hw-size" type="number" min="1" value={size} required onInput={(e) => setSize(e.currentTarget.value)} data-testid="hw-disk-size" /></Field>
              <Field label={t('hw.datastore')} id="hw-ds"><input id="hw-ds" value={ds} placeholder={cfg.datastore || 'local'} onInput={(e) => setDs(e.currentTarget.value)} /></Field>
            </div>
            <button type="submit" disabled={busy || !settled} data-testid="hw-disk-add">{t('hw.add_disk')}</button>
          </form>
          <form onSubmit={addNic} data-testid="hw-add-nic">
            <h3>{t('hw.add_nic')}</h3>
            <div class="row">
              <Field label={t('hw.network')} id="hw-net"><input id="hw-net" value={net} required onInput={(e) => setNet(e.currentTarget.value)} data-testid="hw-nic-network" /></Field>
            </div>
            <button type="submit" disabled={busy || !settled} data-testid="hw-nic-add">{t('hw.add_nic')}</button>
          </form>
        </>
      ) : null}
      <ErrorText error={error} />
      {end && end.state === 'succeeded' ? (
        <p class={result && result.pending ? 'warn' : 'good'} data-testid="hw-result">
          {result && result.pending ? t('hw.pending', { reason: result.reason || '' }) : t('hw.done')}
        </p>
      ) : null}
      {end && end.state !== 'succeeded' ? <p class="bad" data-testid="hw-result">{(end.error && end.error.message) || end.message}</p> : null}
    </section>
  );
}
