// Create a VM from a template. "Check placement" asks vdcd the same
// request as a dry run (every check, nothing made) and shows placement's
// verdict before anything is created; placement runs again when vdcd takes
// the create: its verdict (the chosen host and why, or why no host fits)
// is shown from the answer, then the create task is followed until the VM
// runs. Administrators may also put it in a resource pool and reserve
// CPU and memory for it (vdcd admits a VM that starts at once in its pool
// and on its host, and places it where its reservation is kept).
import { useState } from 'preact/hooks';
import { get, post, enc, waitTask, getSession } from '../api.js';
import { Link, ErrorText, Notice, Field, useLoad, isAdmin } from '../components.jsx';
import { t } from '../i18n/index.js';

// Boot orders the form offers (the API takes any of disk, cdrom, net).
const BOOT_ORDERS = ['disk,net', 'net,disk', 'cdrom,disk'];

function Placement({ p }) {
  if (!p) return null;
  return (
    <div class="placement" data-testid="placement" data-dry-run={p.dry ? 'true' : 'false'}>
      <h2>{t('create.placement')}</h2>
      {p.dry ? <p class="muted" data-testid="dry-run-note">{t('facts.dry_run_note')}</p> : null}
      <p>{p.summary}</p>
      {p.hosts_hidden ? <p class="muted" data-testid="hosts-hidden">{t('dryrun.hosts_hidden')}</p> : null}
      {p.hosts && p.hosts.length ? (
        <table>
          <thead><tr><th scope="col">{t('create.host')}</th><th scope="col">{t('create.verdict')}</th><th scope="col">{t('create.reason')}</th></tr></thead>
          <tbody>
            {p.hosts.map((h) => <tr><td>{h.host}</td><td>{h.eligible ? t('create.eligible') : t('create.rejected', { filter: h.filter })}</td><td>{h.reason}</td></tr>)}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

export function VmCreate() {
  const who = getSession().who;
  const [templates, tErr] = useLoad(() => get('/api/v1/templates?limit=1000'), []);
  const [projects] = useLoad(() => (isAdmin() ? get('/api/v1/projects?limit=1000').then((r) => r.items.map((p) => ({ id: p.id, name: p.name })))
    : Promise.resolve((who.projects || []).filter((m) => m.role !== 'viewer').map((m) => ({ id: m.project_id, name: m.project })))), []);
  // Resource pools are the administrators' (the API says so too).
  const [pools] = useLoad(() => (isAdmin() ? get('/api/v1/pools?limit=1000').then((r) => r.items) : Promise.resolve([])), []);
  const [clusters] = useLoad(() => (isAdmin() ? get('/api/v1/clusters?limit=1000').then((r) => r.items) : Promise.resolve([])), []);
  // ISOs for a CD-ROM drive: the library's active images of kind iso.
  const [isos] = useLoad(() => get('/api/v1/images?limit=1000').then((r) => r.items.filter((i) => i.kind === 'iso' && i.state === 'active')), []);
  const [form, setForm] = useState({ name: '', template: '', project: '', vcpus: '', memory_mib: '', start: true,
    pool: '', cpu_res: '', mem_res: '', watchdog: '', firmware: '', boot_order: '', ready_port: '', cdrom: '' });
  const [error, setError] = useState(null);
  const [placement, setPlacement] = useState(null);
  const [notice, setNotice] = useState(null);
  const [created, setCreated] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });

  const tlist = (templates && templates.items) || [];
  // The select shows the first template until the user picks one.
  const templateId = form.template || (tlist[0] && tlist[0].id) || '';

  function body() {
    const b = { name: form.name.trim(), template: templateId, start: form.start };
    if (form.project) b.project = form.project;
    if (form.vcpus) b.vcpus = +form.vcpus;
    if (form.memory_mib) b.memory_mib = +form.memory_mib;
    if (form.pool) b.pool = form.pool;
    if (form.cpu_res) b.cpu_reservation_pct = +form.cpu_res;
    if (form.mem_res) b.mem_reservation_mib = +form.mem_res;
    if (form.watchdog) b.watchdog = form.watchdog;
    if (form.firmware) b.firmware = form.firmware;
    if (form.boot_order) b.boot_order = form.boot_order.split(',');
    if (form.cdrom) b.cdrom = form.cdrom === '-' ? {} : { image: form.cdrom };
    if (form.ready_port) b.ready_probe = { tcp_port: +form.ready_port };
    return b;
  }
  // The verdict before create: a dry run answers as create would, and
  // writes nothing.
  async function check(e) {
    const f = e.currentTarget.form;
    if (f && !f.reportValidity()) return;
    setBusy(true); setError(null); setPlacement(null); setNotice(null); setCreated(null);
    try {
      const r = await post('/api/v1/vms?dry_run=true', body());
      setPlacement({ ...r.placement, dry: true });
    } catch (err) {
      setError(err);
      if (err.detail && err.detail.placement) setPlacement({ ...err.detail.placement, dry: true });
    } finally {
      setBusy(false);
    }
  }
  async function submit(e) {
    e.preventDefault();
    setBusy(true); setError(null); setPlacement(null); setNotice(null); setCreated(null);
    try {
      const r = await post('/api/v1/vms', body());
      setPlacement(r.placement);
      setCreated(r.vm);
      const end = await waitTask(r.task.id, (tk) => setNotice({ text: t('task.progress', { what: t('create.title'), state: t('taskstate.' + tk.state), message: tk.message || '' }) }));
      setNotice(end.state === 'failed'
        ? { text: t('task.failed', { what: t('create.title'), message: (end.error && end.error.message) || end.message }), kind: 'bad' }
        : { text: t('create.done', { name: r.vm.name }), kind: 'good' });
    } catch (err) {
      setError(err);
      if (err.detail && err.detail.placement) setPlacement(err.detail.placement);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section>
      <h1>{t('create.title')}</h1>
      <ErrorText error={tErr} />
      <form onSubmit={submit} class="create">
        <Field label={t('create.name')} id="vm-name">
          <input id="vm-name" required maxLength={63} value={form.name} onInput={set('name')} />
        </Field>
        <Field label={t('create.template')} id="vm-template">
          <select id="vm-template" required value={templateId} onChange={set('template')}>
            {tlist.map((tp) => <option value={tp.id}>{tp.name}{tp.project_id ? '' : ' (' + t('vm.shared') + ')'}</option>)}
          </select>
        </Field>
        {projects && projects.length ? (
          <Field label={t('create.project')} id="vm-project">
            <select id="vm-project" value={form.project} onChange={set('project')}>
              <option value="">{t('create.project_default')}</option>
              {projects.map((p) => <option value={p.id}>{p.name}</option>)}
            </select>
          </Field>
        ) : null}
        <div class="row">
          <Field label={t('vm.vcpus')} id="vm-vcpus" hint={t('create.from_template')}>
            <input id="vm-vcpus" type="number" min="1" max="255" value={form.vcpus} onInput={set('vcpus')} aria-describedby="vm-vcpus-hint" />
          </Field>
          <Field label={t('vm.memory_mib')} id="vm-mem" hint={t('create.from_template')}>
            <input id="vm-mem" type="number" min="16" value={form.memory_mib} onInput={set('memory_mib')} aria-describedby="vm-mem-hint" />
          </Field>
          <Field label={t('vm.watchdog')} id="vm-watchdog" hint={t('create.watchdog_hint')}>
            <select id="vm-watchdog" value={form.watchdog} onChange={set('watchdog')} aria-describedby="vm-watchdog-hint" data-testid="create-watchdog">
              <option value="">{t('vm.watchdog_none')}</option>
              <option value="i6300esb">i6300esb</option>
            </select>
          </Field>
          <Field label={t('vm.firmware')} id="vm-firmware" hint={t('create.firmware_hint')}>
            <select id="vm-firmware" value={form.firmware} onChange={set('firmware')} aria-describedby="vm-firmware-hint" data-testid="create-firmware">
              <option value="">BIOS</option>
              <option value="uefi">UEFI</option>
            </select>
          </Field>
          <Field label={t('vm.boot_order')} id="vm-boot">
            <select id="vm-boot" value={form.boot_order} onChange={set('boot_order')} data-testid="create-boot-order">
              <option value="">{t('vm.boot_default')}</option>
              {BOOT_ORDERS.map((o) => <option value={o}>{o}</option>)}
            </select>
          </Field>
          <Field label={t('cdrom.title')} id="vm-cdrom" hint={t('create.cdrom_hint')}>
            <select id="vm-cdrom" value={form.cdrom} onChange={set('cdrom')} aria-describedby="vm-cdrom-hint" data-testid="create-cdrom">
              <option value="">{t('cdrom.none')}</option>
              <option value="-">{t('cdrom.empty')}</option>
              {(isos || []).map((i) => <option value={i.name}>{i.name}</option>)}
            </select>
          </Field>
          <Field label={t('vm.ready_port')} id="vm-ready" hint={t('create.ready_hint')}>
            <input id="vm-ready" type="number" min="1" max="65535" value={form.ready_port} onInput={set('ready_port')} aria-describedby="vm-ready-hint" data-testid="create-ready-port" />
          </Field>
        </div>
        {isAdmin() && pools ? (
          <div class="row">
            <Field label={t('vmpool.current')} id="vm-pool">
              <select id="vm-pool" value={form.pool} onChange={set('pool')} data-testid="create-pool">
                <option value="">{t('pools.root')}</option>
                {pools.map((p) => {
                  const c = (clusters || []).find((x) => x.id === p.cluster_id);
                  return <option value={p.id}>{p.name}{c ? ' (' + c.name + ')' : ''}</option>;
                })}
              </select>
            </Field>
            <Field label={t('pools.cpu_reservation')} id="vm-cpu-res">
              <input id="vm-cpu-res" type="number" min="0" value={form.cpu_res} onInput={set('cpu_res')} />
            </Field>
            <Field label={t('pools.mem_reservation')} id="vm-mem-res">
              <input id="vm-mem-res" type="number" min="0" value={form.mem_res} onInput={set('mem_res')} data-testid="create-mem-res" />
            </Field>
          </div>
        ) : null}
        <div><label class="check"><input type="checkbox" checked={form.start} onChange={set('start')} /> {t('create.start')}</label></div>
        <ErrorText error={error} />
        <div class="actions">
          <button type="button" disabled={busy || !tlist.length} data-testid="create-check" onClick={check}>{t('facts.check')}</button>
          <button class="primary" type="submit" disabled={busy || !tlist.length} data-testid="create-submit">{t('create.submit')}</button>
        </div>
      </form>
      <Notice text={notice && notice.text} kind={notice && notice.kind} />
      {created ? <p><Link href={'/vms/' + enc(created.id)} data-testid="created-link">{t('create.open', { name: created.name })}</Link></p> : null}
      <Placement p={placement} />
    </section>
  );
}
