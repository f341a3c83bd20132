// The inventory as a tree: clusters -> hosts -> VMs (hosts are for
// administrators, as the API says), then every VM, templates, images,
// networks and datastores. A branch loads when opened, a page (100) at a
// time: the tree stays quick with 100,000 VMs; the search box finds any
// one by name.
import { useLayoutEffect, useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { Link, ErrorText, StateBadge, isAdmin, canWrite } from '../components.jsx';
import { objectHref } from '../search.jsx';
import { t } from '../i18n/index.js';
import { useLiveState, useLiveReload } from '../live.js';

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
