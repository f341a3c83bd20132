// The inventory as a tree: clusters -> hosts -> VMs, and each cluster's
// resource pools -> child pools and VMs (hosts and pools are for
// administrators, as the API says), then every VM, templates, images,
// networks and datastores. A branch loads when opened, a page (100) at a
// time: the tree stays quick with 100,000 VMs; the search box finds any
// one by name.
import { useLayoutEffect, useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { Link, ErrorText, StateBadge, isAdmin, canWrite, useLoad, mib } from '../components.jsx';
import { objectHref } from '../search.jsx';
import { t } from '../i18n/index.js';
import { useLiveState, useLiveReload } from '../live.js';
import { childrenOf } from './pools_common.js';

// A state badge that follows the stream (vm.state, host.updated).
function LiveBadge({ kind, id, state }) {
  return <StateBadge state={useLiveState(kind, id, state)} />;
}

function Paged({ url, kind, child }) {
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function load(after) {
    setBusy(true);
    try {
      const sep = url.includes('?') ? '&' : '?';
      const r = await get(url + sep + 'limit=100' + (after ? '&after=' + enc(after) : ''));
      setItems((old) => (after ? (old || []).concat(r.items) : r.items));
      setNext(r.next);
    } catch (e) { setError(e); }
    setBusy(false);
  }
  // Asked as soon as the branch is in the DOM, not a frame later (after
  // paint, as useEffect would): the first screen's data comes sooner.
  useLayoutEffect(() => { load(null); }, [url]);
  // A VM, host ... made or deleted: the first page again (when only it is
  // shown; a longer list keeps what was loaded until it is reopened).
  const word = kind.replace(/s$/, '');
  useLiveReload(() => { if (!next) load(null); },
    (name) => name === word + '.created' || name === word + '.deleted', 0, 1000);
  if (error) return <ErrorText error={error} />;
  if (items === null) return <p class="muted">{t('common.loading')}</p>;
  if (items.length === 0) return <p class="muted">{t('tree.empty')}</p>;
  return (
    <ul>
      {items.map((o) => <li>{child ? child(o) : <Leaf kind={kind} o={o} />}</li>)}
      {next ? <li><button type="button" class="link" disabled={busy} onClick={() => load(next)}>{t('tree.more')}</button></li> : null}
    </ul>
  );
}

function Leaf({ kind, o }) {
  return (
    <span class="leaf">
      <Link href={objectHref(kind, o)}>{o.name}</Link>
      {kind === 'vms' ? <LiveBadge kind="vm" id={o.id} state={o.power_state} /> : null}
      {kind === 'hosts' ? <LiveBadge kind="host" id={o.id} state={o.state} /> : null}
    </span>
  );
}

// A branch that loads its children the first time it opens.
function Branch({ label, children, open: startOpen, testid }) {
  const [open, setOpen] = useState(!!startOpen);
  return (
    <details open={startOpen} onToggle={(e) => setOpen(e.currentTarget.open)} data-testid={testid}>
      <summary>{label}</summary>
      {open ? children : null}
    </details>
  );
}

// A cluster's pools and the VMs in each, nested as the pools are. The
// VMs come from one page of the cluster's list (1000, grouped by pool_id
// here): enough for a tree to browse; the pools page and the VM list
// count and find every one.
async function poolsOf(clusterId) {
  const [view, vms] = await Promise.all([
    get('/api/v1/clusters/' + enc(clusterId) + '/pools'),
    get('/api/v1/vms?cluster_id=' + enc(clusterId) + '&fields=pool_id,power_state&limit=1000'),
  ]);
  const inPool = new Map();
  for (const v of vms.items) {
    if (!v.pool_id) continue;
    if (!inPool.has(v.pool_id)) inPool.set(v.pool_id, []);
    inPool.get(v.pool_id).push(v);
  }
  return { kids: childrenOf(view.pools), inPool };
}

function PoolBranches({ cluster }) {
  const [tree, error, reload] = useLoad(() => poolsOf(cluster.id), [cluster.id]);
  // Pools changed, VMs made, deleted, started or stopped (what is held
  // moves), or moved between pools.
  const pools = (tree && [...tree.kids.values()].flat()) || [];
  const where = new Map();
  if (tree) tree.inPool.forEach((vs, pid) => vs.forEach((v) => where.set(v.id, pid)));
  useLiveReload(reload, (name, d) => name.startsWith('pool.') || name === 'vm.created' || name === 'vm.deleted' ||
    name === 'vm.state' || (name === 'vm.updated' && d && d.doc && (where.get(d.id) || '') !== (d.doc.pool_id || '')), 0, 1000);
  const href = '/clusters/' + enc(cluster.id) + '/pools';
  if (error) return <ErrorText error={error} />;
  if (!tree) return <p class="muted">{t('common.loading')}</p>;
  if (!pools.length) return <p class="muted">{t('tree.empty')} <Link href={href}>{t('pools.open')}</Link></p>;
  const level = (parent) => (
    <ul>
      {(tree.kids.get(parent) || []).map((p) => (
        <li><Branch testid={'tree-pool-' + p.name} label={<span class="leaf"><Link href={href}>{p.name}</Link>
          <span class="muted">{t('pools.tree_label', { shares: p.cpu_shares, cpu: p.cpu_reservation_pct, mem: mib(p.mem_reservation_mib),
            cpu_used: p.reserved_cpu_pct, mem_used: mib(p.reserved_mem_mib) })}</span></span>}>
          {tree.kids.has(p.id) ? level(p.id) : null}
          {(tree.inPool.get(p.id) || []).length ? <ul>{tree.inPool.get(p.id).map((v) => <li><Leaf kind="vms" o={v} /></li>)}</ul> : null}
          {!tree.kids.has(p.id) && !tree.inPool.has(p.id) ? <p class="muted">{t('tree.empty')}</p> : null}
        </Branch></li>
      ))}
    </ul>
  );
  return level('');
}

export function Inventory() {
  const admin = isAdmin();
  return (
    <section>
      <div class="page-head">
        <h1>{t('inventory.title')}</h1>
        {canWrite(null) ? <Link class="button primary" href="/vms/new">{t('nav.create_vm')}</Link> : null}
      </div>
      <div class="tree">
        <Branch label={t('kind.clusters')} open testid="tree-clusters">
          <Paged url="/api/v1/clusters" kind="clusters" child={(c) => (
            admin ? (
              <Branch label={<><Link href={objectHref('clusters', c)}>{c.name}</Link></>}>
                <Paged url={'/api/v1/hosts?cluster_id=' + enc(c.id)} kind="hosts" child={(h) => (
                  <Branch label={<Leaf kind="hosts" o={h} />}>
                    <Paged url={'/api/v1/vms?host_id=' + enc(h.id)} kind="vms" />
                  </Branch>
                )} />
                <ul><li>
                  <Branch label={t('pools.link')} testid={'tree-pools-' + c.name}><PoolBranches cluster={c} /></Branch>
                </li></ul>
              </Branch>
            ) : <Leaf kind="clusters" o={c} />
          )} />
        </Branch>
        <Branch label={t('kind.vms')} open testid="tree-vms">
          <Paged url="/api/v1/vms" kind="vms" />
        </Branch>
        <Branch label={t('kind.templates')}><Paged url="/api/v1/templates" kind="templates" /></Branch>
        <Branch label={t('kind.images')}><Paged url="/api/v1/images" kind="images" /></Branch>
        <Branch label={t('kind.networks')}><Paged url="/api/v1/networks" kind="networks" /></Branch>
        <Branch label={t('kind.datastores')}><Paged url="/api/v1/datastores" kind="datastores" /></Branch>
      </div>
    </section>
  );
}
