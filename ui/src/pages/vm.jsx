// A VM: its summary, power operations, its high availability (vm_ha.jsx),
// its CD-ROM (vm_cdrom.jsx), resize, clone, live migration and its resource pool (administrators),
// snapshots and delete. Changes are tasks: the page follows each to its end and shows
// how it ended. Users who may only read the VM's project see no buttons
// (and the API refuses them anyway). The page follows the live stream
// (live.js): the VM is re-read when an event names it or its tasks.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, del, enc, waitTask, getSession } from '../api.js';
import { navigate } from '../router.js';
import { Link, ErrorText, Notice, Confirm, Field, StateBadge, canWrite, isAdmin, mib, bytes, errorMessage } from '../components.jsx';
import { t } from '../i18n/index.js';
import { useLiveReload } from '../live.js';
import { PlacementFacts, LastExit } from './vm_facts.jsx';
import { Migrate } from './vm_migrate.jsx';
import { MoveDisk } from './vm_move_disk.jsx';
import { Hardware } from './vm_hardware.jsx';
import { VmPool } from './vm_pool.jsx';
import { VmHa } from './vm_ha.jsx';
import { VmCdrom, cdromText } from './vm_cdrom.jsx';

const POWER = {
  start: ['stopped', 'crashed', 'error'],
  stop: ['running', 'paused'],
  reset: ['running'],
  pause: ['running'],
  resume: ['paused'],
  destroy: ['running', 'paused', 'starting', 'stopping'],
};

function projectName(id) {
  if (!id) return t('vm.shared');
  const m = (getSession().who.projects || []).find((p) => p.project_id === id);
  return m ? m.project : id;
}

export function VmPage({ id }) {
  const [vm, setVm] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState(null);
  const [tick, setTick] = useState(0);
  // Once a delete is under way the page reads the VM no more (it would
  // be a 404 the moment the delete ends).
  const deleting = useRef(false);
  useEffect(() => {
    if (deleting.current) return undefined;
    let live = true;
    get('/api/v1/vms/' + enc(id)).then((v) => live && (setVm(v), setError(null)), (e) => live && setError(e));
    return () => { live = false; };
  }, [id, tick]);
  // Read again when the stream tells of this VM or its tasks (every 3 s
  // while the stream is down).
  const vmId = vm ? vm.id : id;
  useLiveReload(() => setTick((n) => n + 1), (name, d) => d && (d.id === vmId || (d.doc && d.doc.target_id === vmId)));
  if (error && !vm) return <section><h1>{t('vm.title')}</h1><ErrorText error={error} /></section>;
  if (!vm) return <p class="muted">{t('common.loading')}</p>;
  const writable = canWrite(vm.project_id || null);
  const cfg = vm.config || {};
  // Consoles are for operators and admins (a console types into the
  // guest), and only a running guest has one.
  const consoles = writable && ['running', 'paused'].includes(vm.power_state);

  // Runs one change: the call, then its task to the end.
  async function run(label, call, refresh = true) {
    setBusy(true);
    setNotice({ text: t('task.queued', { what: label }) });
    try {
      const r = await call();
      const task = r && (r.task || (r.id && r.op ? r : null));
      if (task && task.id) {
        const end = await waitTask(task.id, (tk) => setNotice({ text: t('task.progress', { what: label, state: t('taskstate.' + tk.state), message: tk.message || '' }) }));
        if (end.state === 'failed') setNotice({ text: t('task.failed', { what: label, message: (end.error && end.error.message) || end.message }), kind: 'bad' });
        else setNotice({ text: t('task.done', { what: label }), kind: 'good' });
        return end;
      }
      setNotice({ text: t('task.done', { what: label }), kind: 'good' });
      return r;
    } catch (e) {
      setNotice({ text: errorMessage(e), kind: 'bad' });
      return null;
    } finally {
      setBusy(false);
      if (refresh) setTick((n) => n + 1);
    }
  }
  const power = (op) => run(t('power.' + op), () => post('/api/v1/vms/' + enc(vm.id) + '/' + op));

  async function remove() {
    setConfirm(null);
    const force = ['running', 'paused', 'starting', 'stopping'].includes(vm.power_state);
    deleting.current = true;
    const end = await run(t('vm.delete'), () => del('/api/v1/vms/' + enc(vm.id) + (force ? '?force=true' : '')), false);
    if (end && end.state === 'succeeded') navigate('/', true);
    else { deleting.current = false; setTick((n) => n + 1); }
  }

  return (
    <section class="vm">
      <div class="page-head">
        <h1>{vm.name} <StateBadge state={vm.power_state} /></h1>
        <div class="links">
          {consoles ? <Link href={'/vms/' + enc(vm.id) + '/serial'} data-testid="open-serial">{t('console.link_serial')}</Link> : null}
          {consoles ? <Link href={'/vms/' + enc(vm.id) + '/console'} data-testid="open-vnc">{t('console.link_vnc')}</Link> : null}
          <Link href={'/vms/' + enc(vm.id) + '/charts'}>{t('vm.charts')}</Link>
        </div>
      </div>
      <Notice text={notice && notice.text} kind={notice && notice.kind} />
      {writable ? (
        <div class="actions power" role="group" aria-label={t('vm.power')}>
          {Object.keys(POWER).map((op) => (
            <button type="button" data-testid={'power-' + op} disabled={busy || !POWER[op].includes(vm.power_state)}
              class={op === 'destroy' ? 'danger' : ''} onClick={() => power(op)}>{t('power.' + op)}</button>
          ))}
          <button type="button" class="danger" data-testid="delete" disabled={busy} onClick={() => setConfirm('delete')}>{t('vm.delete')}</button>
        </div>
      ) : <p class="muted" data-testid="readonly">{t('vm.readonly')}</p>}
      <h2>{t('vm.summary')}</h2>
      <dl class="summary">
        <dt>{t('vm.state')}</dt><dd data-testid="power-state">{t('state.' + vm.power_state)}{vm.desired_state && vm.desired_state !== vm.power_state ? ' → ' + t('state.' + vm.desired_state) : ''}</dd>
        <dt>{t('vm.host')}</dt><dd>{(vm.placement && vm.placement.host) || vm.host_id}</dd>
        <dt>{t('vm.project')}</dt><dd>{projectName(vm.project_id)}</dd>
        <dt>{t('vm.size')}</dt><dd>{t('vm.size_value', { vcpus: cfg.vcpus, memory: mib(cfg.memory_mib), disk: cfg.disk_size_mib ? mib(cfg.disk_size_mib) : t('vm.image_size') })}</dd>
        <dt>{t('vm.template')}</dt><dd>{cfg.template ? cfg.template.name : '-'}</dd>
        <dt>{t('vm.watchdog')}</dt><dd data-testid="watchdog">{cfg.watchdog || t('vm.watchdog_none')}</dd>
        <dt>{t('vm.firmware')}</dt><dd data-testid="firmware">{(cfg.firmware || 'bios').toUpperCase()}, {t('vm.boot_order').toLowerCase()}: {(cfg.boot_order || ['disk']).join(', ')}</dd>
        <dt>{t('cdrom.title')}</dt><dd data-testid="cdrom">{cdromText(cfg)}</dd>
        <dt>{t('vm.readiness')}</dt><dd data-testid="readiness">{readiness(vm)}</dd>
        {cfg.clone_of ? <><dt>{t('vm.clone_of')}</dt><dd>{cfg.clone_of.name}</dd></> : null}
        <dt>{t('vm.networks')}</dt><dd>{(cfg.networks || []).map((n) => n.name || n.bridge).join(', ') || '-'}</dd>
        <PlacementFacts p={vm.placement} />
        <LastExit le={vm.last_exit} />
        <dt>{t('vm.created')}</dt><dd>{vm.created_at}</dd>
        <dt>{t('vm.id')}</dt><dd class="mono">{vm.id}</dd>
      </dl>
      <Guest g={vm.guest} />
      {vm.cluster_id ? <VmHa vm={vm} onDone={() => setTick((n) => n + 1)} /> : null}
      <RecentTasks vmId={vm.id} tick={tick} />
      <Snapshots vm={vm} writable={writable} busy={busy} run={run} />
      {writable ? <VmCdrom vm={vm} busy={busy} run={run} /> : null}
      <Hardware vm={vm} writable={writable} onDone={() => setTick((n) => n + 1)} />
      {writable ? <Resize vm={vm} busy={busy} run={run} /> : null}
      {writable ? <Clone vm={vm} busy={busy} run={run} /> : null}
      {isAdmin() && ['running', 'paused'].includes(vm.power_state) ? <Migrate vm={vm} onDone={() => setTick((n) => n + 1)} /> : null}
      {writable && ['running', 'paused', 'stopped', 'crashed'].includes(vm.power_state) ? <MoveDisk vm={vm} onDone={() => setTick((n) => n + 1)} /> : null}
      {isAdmin() && vm.cluster_id ? <VmPool vm={vm} onDone={() => setTick((n) => n + 1)} /> : null}
      <Confirm open={confirm === 'delete'} danger title={t('vm.delete_title', { name: vm.name })}
        body={t('vm.delete_body', { name: vm.name })} confirmLabel={t('vm.delete')}
        onConfirm={remove} onCancel={() => setConfirm(null)} />
    </section>
  );
}

// The VM's last tasks: how its latest operations ended (a failed start
// says why), until the live task view arrives.
function RecentTasks({ vmId, tick }) {
  const [tasks, setTasks] = useState(null);
  useEffect(() => {
    get('/api/v1/tasks?target_id=' + enc(vmId) + '&order=desc&limit=5').then((r) => setTasks(r.items), () => setTasks([]));
  }, [vmId, tick]);
  if (!tasks || !tasks.length) return null;
  return (
    <>
      <h2>{t('vm.recent_tasks')}</h2>
      <ul class="tasks">
        {tasks.map((tk) => (
          <li><span class="mono">{tk.op}</span> <span class={'badge task-' + tk.state}>{t('taskstate.' + tk.state)}</span> {tk.error ? tk.error.message : tk.message}</li>
        ))}
      </ul>
    </>
  );
}

function Snapshots({ vm, writable, busy, run }) {
  const [snaps, setSnaps] = useState(null);
  const [error, setError] = useState(null);
  const [name, setName] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    get('/api/v1/vms/' + enc(vm.id) + '/snapshots').then((r) => { setSnaps(r.snapshots || []); setError(null); }, setError);
  }, [vm.id, n]);
  const base = '/api/v1/vms/' + enc(vm.id) + '/snapshots';
  const after = () => setN((x) => x + 1);
  return (
    <>
      <h2>{t('vm.snapshots')}</h2>
      <ErrorText error={error} />
      {snaps && snaps.length === 0 ? <p class="muted">{t('vm.no_snapshots')}</p> : null}
      {snaps && snaps.length ? (
        <table>
          <thead><tr><th scope="col">{t('vm.snapshot_name')}</th><th scope="col">{t('vm.snapshot_date')}</th><th scope="col">{t('vm.snapshot_ram')}</th>{writable ? <th scope="col"><span class="sr-only">{t('common.actions')}</span></th> : null}</tr></thead>
          <tbody>
            {snaps.map((s) => (
              <tr>
                <td>{s.name}</td>
                <td>{s.date_sec ? new Date(s.date_sec * 1000).toLocaleString() : '-'}</td>
                <td>{s.vm_state_bytes ? bytes(s.vm_state_bytes) : t('vm.disk_only')}</td>
                {writable ? (
                  <td class="row-actions">
                    <button type="button" disabled={busy} onClick={() => run(t('vm.revert'), () => post(base + '/' + enc(s.name) + '/revert')).then(after)}>{t('vm.revert')}</button>
                    <button type="button" class="danger" disabled={busy} onClick={() => run(t('vm.snapshot_delete'), () => del(base + '/' + enc(s.name))).then(after)}>{t('common.delete')}</button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {writable ? (
        <form class="inline" onSubmit={(e) => { e.preventDefault(); run(t('vm.snapshot_take'), () => post(base, { name })).then(() => { setName(''); after(); }); }}>
          <Field label={t('vm.snapshot_name')} id="snap-name">
            <input id="snap-name" required value={name} pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*" onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={busy}>{t('vm.snapshot_take')}</button>
        </form>
      ) : null}
    </>
  );
}

// What its guest agent (qemu-ga) says: whether one answers, its hostname,
// OS and addresses (the guest wrote them; rendered as text only).
function Guest({ g }) {
  g = g || {};
  const ips = (g.interfaces || []).flatMap((i) => (i.ips || []).map((ip) => (i.name ? i.name + ': ' : '') + ip));
  return (
    <section data-testid="guest">
      <h2>{t('vm.guest')}</h2>
      <dl class="summary">
        <dt>{t('vm.guest_agent')}</dt>
        <dd data-testid="guest-agent">{g.agent ? t('vm.guest_agent_yes') : t('vm.guest_agent_no')}{!g.agent && g.error ? ' (' + g.error + ')' : ''}</dd>
        {g.hostname ? <><dt>{t('vm.guest_hostname')}</dt><dd data-testid="guest-hostname">{g.hostname}</dd></> : null}
        {g.os ? <><dt>{t('vm.guest_os')}</dt><dd data-testid="guest-os">{g.os.pretty_name || g.os.name || g.os.id || '-'}{g.os.kernel_release ? ', ' + g.os.kernel_release : ''}</dd></> : null}
        {ips.length ? <><dt>{t('vm.guest_ips')}</dt><dd data-testid="guest-ips">{ips.join(', ')}</dd></> : null}
        {g.updated_at ? <><dt>{t('vm.guest_updated')}</dt><dd>{g.updated_at}</dd></> : null}
      </dl>
    </section>
  );
}

// What its host's readiness probe last said (config.ready_probe, readiness).
function readiness(vm) {
  const p = (vm.config || {}).ready_probe;
  const r = vm.readiness || {};
  if (!p) return t('vm.ready_none');
  if (r.ready === true) return t('vm.ready_yes', { since: r.since || '?', port: p.tcp_port });
  if (r.ready === false) return t('vm.ready_no', { reason: r.reason || '?' });
  return t('vm.ready_unknown');
}

function Resize({ vm, busy, run }) {
  const cfg = vm.config || {};
  const port0 = cfg.ready_probe ? String(cfg.ready_probe.tcp_port) : '';
  const [port, setPort] = useState(port0);
  const [vcpus, setVcpus] = useState(cfg.vcpus);
  const [mem, setMem] = useState(cfg.memory_mib);
  const [disk, setDisk] = useState(cfg.disk_size_mib || '');
  const [wd, setWd] = useState(cfg.watchdog || '');
  const [fw, setFw] = useState(cfg.firmware || 'bios');
  const boot0 = (cfg.boot_order || []).join(',');
  const [boot, setBoot] = useState(boot0);
  function submit(e) {
    e.preventDefault();
    const body = {};
    if (+vcpus !== cfg.vcpus) body.vcpus = +vcpus;
    if (+mem !== cfg.memory_mib) body.memory_mib = +mem;
    if (disk !== '' && +disk !== cfg.disk_size_mib) body.disk_size_mib = +disk;
    if (wd !== (cfg.watchdog || '')) body.watchdog = wd || null;
    if (fw !== (cfg.firmware || 'bios')) body.firmware = fw;
    if (boot !== boot0) body.boot_order = boot ? boot.split(',').map((s) => s.trim()) : null;
    if (String(port) !== port0) body.ready_probe = port ? { ...(cfg.ready_probe || {}), tcp_port: +port } : null;
    if (!Object.keys(body).length) return;
    run(t('vm.resize'), () => post('/api/v1/vms/' + enc(vm.id) + '/resize', body));
  }
  return (
    <form onSubmit={submit} aria-labelledby="resize-title">
      <h2 id="resize-title">{t('vm.resize')}</h2>
      <p class="muted">{t('vm.resize_hint')}</p>
      <div class="row">
        <Field label={t('vm.vcpus')} id="rs-vcpus"><input id="rs-vcpus" type="number" min="1" max="255" value={vcpus} onInput={(e) => setVcpus(e.currentTarget.value)} /></Field>
        <Field label={t('vm.memory_mib')} id="rs-mem"><input id="rs-mem" type="number" min="16" value={mem} onInput={(e) => setMem(e.currentTarget.value)} /></Field>
        <Field label={t('vm.disk_mib')} id="rs-disk"><input id="rs-disk" type="number" min="1" value={disk} onInput={(e) => setDisk(e.currentTarget.value)} /></Field>
        <Field label={t('vm.watchdog')} id="rs-watchdog">
          <select id="rs-watchdog" value={wd} onChange={(e) => setWd(e.currentTarget.value)}>
            <option value="">{t('vm.watchdog_none')}</option>
            <option value="i6300esb">i6300esb</option>
          </select>
        </Field>
        <Field label={t('vm.firmware')} id="rs-firmware">
          <select id="rs-firmware" value={fw} onChange={(e) => setFw(e.currentTarget.value)} data-testid="resize-firmware">
            <option value="bios">BIOS</option>
            <option value="uefi">UEFI</option>
          </select>
        </Field>
        <Field label={t('vm.boot_order')} id="rs-boot"><input id="rs-boot" value={boot} placeholder="disk,net" onInput={(e) => setBoot(e.currentTarget.value)} data-testid="resize-boot-order" /></Field>
        <Field label={t('vm.ready_port')} id="rs-ready"><input id="rs-ready" type="number" min="1" max="65535" value={port} onInput={(e) => setPort(e.currentTarget.value)} data-testid="resize-ready-port" /></Field>
      </div>
      <button type="submit" disabled={busy}>{t('vm.resize')}</button>
    </form>
  );
}

function Clone({ vm, busy, run }) {
  const [name, setName] = useState(vm.name + '-clone');
  const [start, setStart] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const end = await run(t('vm.clone'), () => post('/api/v1/vms/' + enc(vm.id) + '/clone', { name, start }));
    if (end && end.state === 'succeeded' && end.target_id) navigate('/vms/' + enc(end.target_id));
  }
  return (
    <form onSubmit={submit} aria-labelledby="clone-title">
      <h2 id="clone-title">{t('vm.clone')}</h2>
      <div class="row">
        <Field label={t('vm.clone_name')} id="clone-name"><input id="clone-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} /></Field>
        <label class="check"><input type="checkbox" checked={start} onChange={(e) => setStart(e.currentTarget.checked)} /> {t('vm.clone_start')}</label>
      </div>
      <button type="submit" disabled={busy}>{t('vm.clone')}</button>
    </form>
  );
}
