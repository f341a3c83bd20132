// A cluster's HA incidents in time order (system administrators: the
// audit log is theirs): each host verdict (silent, isolated, failed,
// connected again), each fence through a BMC, each VM restart placed or
// refused, and how each restart task ended, with vdcd's reason. The audit
// log has no filter by action, so this reads its latest page (1000
// events) and keeps the HA ones of the cluster's hosts and VMs; "Look
// further back" reads the page before. Restart tasks come from the task
// list (op vm.ha_restart). Live: a new HA event or a restart that ended
// reads the latest page again (a task's end is an event too).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { ErrorText, Link, When } from '../components.jsx';
import { t } from '../i18n/index.js';
import { useLiveReload } from '../live.js';

const PAGE = 1000;
const SHOWN = 100; // the newest this many, oldest first
const isHa = (action) => /^(host|vm)\.ha_/.test(action || '');
// A restart task's end is an event too (vm.ha_restart, succeeded or
// failed); the task itself says more (where to, its error), so it stands
// for it.
const isTaskEnd = (e) => e.action === 'vm.ha_restart' && e.outcome !== 'accepted' && e.outcome !== 'refused';

// What an event or a task was in an incident: a phase (its colour) and
// the i18n key of what happened.
function describe(it) {
  if (it.task) {
    if (it.task.state === 'succeeded') return ['restarted', 'ha.ev.restarted'];
    if (it.task.state === 'failed' || it.task.state === 'cancelled') return ['refused', 'ha.ev.restart_failed'];
    return ['placed', 'ha.ev.restarting'];
  }
  const e = it.event;
  const m = /^host\.ha_(\w+)$/.exec(e.action);
  if (e.action === 'host.ha_bmc_fence') return e.outcome === 'succeeded' ? ['fenced', 'ha.ev.bmc_fenced'] : ['refused', 'ha.ev.bmc_failed'];
  if (m) {
    const phase = { connected: 'recovered', failed: 'failed', fencing: 'fenced' }[m[1]] || 'detected';
    return [phase, 'ha.ev.host_' + m[1]];
  }
  if (e.action === 'vm.ha_restart') return e.outcome === 'accepted' ? ['placed', 'ha.ev.placed'] : ['refused', 'ha.ev.not_restarted'];
  if (e.action === 'vm.ha_monitor') return ['refused', 'ha.ev.monitor_gave_up'];
  if (e.action === 'vm.ha_stale_copy') return ['recovered', 'ha.ev.stale_copy'];
  return ['detected', e.action];
}

// The cluster's hosts and VMs by id (names to show, ids to keep).
async function members(clusterId) {
  const q = '?cluster_id=' + enc(clusterId) + '&fields=cluster_id&limit=10000';
  const [hosts, vms] = await Promise.all([get('/api/v1/hosts' + q), get('/api/v1/vms' + q)]);
  const hostName = {}, vmName = {};
  for (const h of hosts.items) hostName[h.id] = h.name;
  for (const v of vms.items) vmName[v.id] = v.name;
  return { hostName, vmName };
}

export function HaTimeline({ clusterId }) {
  const [events, setEvents] = useState(null); // the HA events read so far, by id
  const [tasks, setTasks] = useState([]);
  const [who, setWho] = useState(null);
  const [older, setOlder] = useState(null); // the cursor of the page before, or null
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const cursorSet = useRef(false);
  async function load() {
    try {
      const [page, tk, w] = await Promise.all([
        get('/api/v1/events?order=desc&limit=' + PAGE),
        get('/api/v1/tasks?op=vm.ha_restart&order=desc&limit=100'),
        members(clusterId),
      ]);
      setWho(w);
      setTasks(tk.items);
      setEvents((old) => {
        const m = new Map(old ? old.map((e) => [e.id, e]) : []);
        for (const e of page.items) if (isHa(e.action)) m.set(e.id, e);
        return [...m.values()];
      });
      // The cursor goes back only by "Look further back".
      if (!cursorSet.current) { cursorSet.current = true; setOlder(page.next); }
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  async function back() {
    if (!older) return;
    setBusy(true);
    try {
      const page = await get('/api/v1/events?order=desc&limit=' + PAGE + '&before=' + enc(older));
      setEvents((old) => (old || []).concat(page.items.filter((e) => isHa(e.action))));
      setOlder(page.next);
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  }
  useEffect(() => { load(); }, [clusterId]);
  useLiveReload(load, (name, d) => (name === 'event.created' && d && d.doc && isHa(d.doc.action)) ||
    (name === 'task.ended' && d && d.doc && d.doc.op === 'vm.ha_restart'), 5000, 500);

  let items = [];
  if (events && who) {
    for (const e of events) {
      const name = e.target_kind === 'host' ? who.hostName[e.target_id] : who.vmName[e.target_id];
      if (name !== undefined && !isTaskEnd(e)) items.push({ key: 'e' + e.id, at: e.at, seq: e.id, kind: e.target_kind, id: e.target_id, name, event: e });
    }
    // A task's times are to the second, events' to the millisecond: a
    // restart's end is placed at its end event's time when there is one.
    const ends = events.filter(isTaskEnd);
    const endOf = (tk) => {
      const t = Date.parse(tk.finished_at);
      const e = ends.find((x) => x.target_id === tk.target_id && x.outcome === tk.state &&
        Date.parse(x.at) >= t && Date.parse(x.at) < t + 1000);
      return e ? e.at : tk.finished_at;
    };
    for (const tk of tasks) {
      const a = tk.args || {};
      const ours = a.from_host_id in who.hostName || a.to_host_id in who.hostName || tk.target_id in who.vmName;
      const at = (tk.finished_at && endOf(tk)) || tk.started_at || tk.created_at;
      if (ours) items.push({ key: 't' + tk.id, at, seq: Infinity, kind: 'vm', id: tk.target_id, name: tk.target_name || who.vmName[tk.target_id] || tk.target_id, task: tk });
    }
    // Oldest first: what was detected, then fenced, then restarted. Within
    // one second, events in the order vdcd wrote them, tasks' ends after.
    items.sort((x, y) => (Date.parse(x.at) - Date.parse(y.at)) || (x.seq - y.seq) || (x.key < y.key ? -1 : 1));
    items = items.slice(-SHOWN);
  }
  return (
    <section aria-labelledby="ha-timeline-title" data-testid="ha-timeline-section">
      <h2 id="ha-timeline-title">{t('ha.timeline')}</h2>
      <p class="muted">{t('ha.timeline_hint', { n: PAGE })}</p>
      <ErrorText error={error} />
      {events && who && items.length === 0 ? <p class="muted" data-testid="ha-timeline-empty">{t('ha.timeline_empty')}</p> : null}
      {items.length ? (
        <ol class="ha-timeline" data-testid="ha-timeline">
          {items.map((it) => {
            const [phase, key] = describe(it);
            const detail = it.task ? (it.task.error ? it.task.error.message : (it.task.message || (it.task.args && it.task.args.reason))) : it.event.detail;
            return (
              <li data-action={it.task ? 'task.' + it.task.op : it.event.action} data-phase={phase} data-target={it.name}>
                <span class="ha-when"><When iso={it.at} /></span>
                <span class={'badge ha-phase-' + phase}>{t('ha.phase.' + phase)}</span>{' '}
                <span class="ha-what">
                  {t('ha.kind_' + it.kind)}{' '}
                  <Link href={it.kind === 'host' ? '/objects/hosts/' + enc(it.id) : '/vms/' + enc(it.id)}>{it.name}</Link>
                  {': '}{t(key, { to: (it.task && it.task.args && it.task.args.to_host) || '' })}
                </span>
                {detail ? <p class="ha-detail">{detail}</p> : null}
              </li>
            );
          })}
        </ol>
      ) : null}
      {older ? <button type="button" class="link" disabled={busy} onClick={back} data-testid="ha-timeline-older">{t('ha.timeline_older')}</button> : null}
    </section>
  );
}
