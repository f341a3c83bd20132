// Every VM the user may see, in one flat table: sortable by name, state,
// host or project, narrowed by the start of a name (the API's ?q=), and
// windowed: only the rows in view (and a few either side) are in the DOM,
// so 10,000 rows draw and scroll as fast as 40. Rows come 10,000 an answer
// with only the table's columns (?fields=, some 170 bytes a row), following
// `next` past that; each page is on screen as it arrives.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, enc, getSession } from '../api.js';
import { Link, ErrorText, StateBadge, isAdmin } from '../components.jsx';
import { path, navigate } from '../router.js';
import { useSignal } from '../state.js';
import { t } from '../i18n/index.js';
import './vm_list.css';

const ROW = 36; // px: every row is this tall (vm_list.css), so a row's place is arithmetic
const OVERSCAN = 8;
const FIELDS = 'name,power_state,placement.host,project_id';
const PAGE = 10000; // rows an answer may hold with ?fields (whole documents: 1,000)

const KEYS = {
  name: (v) => v.name,
  state: (v) => v.power_state || '',
  host: (v) => (v.placement && v.placement.host) || '',
  project: (v, names) => names[v.project_id] || v.project_id || '',
};

function queryOf(p) {
  const i = p.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : p.slice(i + 1)).get('q') || '';
}

// Project names by id: the caller's memberships, or every project for
// administrators.
function useProjectNames() {
  const [names, setNames] = useState(() => {
    const m = {};
    for (const p of getSession().who.projects || []) m[p.project_id] = p.project;
    return m;
  });
  useEffect(() => {
    if (!isAdmin()) return;
    get('/api/v1/projects?limit=1000').then((r) => {
      const m = {};
      for (const p of r.items) m[p.id] = p.name;
      setNames(m);
    }, () => {});
  }, []);
  return names;
}

// All the VMs (or those whose name starts with q), page after page; the
// list grows as pages come. Returns [rows, done, more, error].
function useVms(q) {
  const [state, setState] = useState({ rows: [], done: false, more: false, error: null });
  useEffect(() => {
    let live = true;
    setState({ rows: [], done: false, more: false, error: null });
    (async () => {
      try {
        if (q) {
          const r = await get('/api/v1/vms?fields=' + FIELDS + '&limit=' + PAGE + '&q=' + enc(q));
          if (live) setState({ rows: r.items, done: true, more: !!r.more, error: null });
          return;
        }
        let rows = [], after = null;
        do {
          const r = await get('/api/v1/vms?fields=' + FIELDS + '&limit=' + PAGE + (after ? '&after=' + enc(after) : ''));
          if (!live) return;
          rows = rows.concat(r.items);
          after = r.next;
          setState({ rows, done: !after, more: false, error: null });
        } while (after);
      } catch (e) {
        if (live) setState((s) => ({ ...s, done: true, error: e }));
      }
    })();
    return () => { live = false; };
  }, [q]);
  return state;
}

export function VmList() {
  const p = useSignal(path);
  const q = queryOf(p);
  const [typed, setTyped] = useState(q);
  const names = useProjectNames();
  const { rows, done, more, error } = useVms(q);
  const [sort, setSort] = useState({ key: 'name', dir: 1 });
  const sorted = useMemo(() => {
    if (sort.key === 'name' && sort.dir === 1 && !q) return rows; // the API's order already
    const key = KEYS[sort.key];
    const k = rows.map((v, i) => [key(v, names), v.name, i]);
    k.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] - b[2]) * sort.dir);
    return k.map((x) => rows[x[2]]);
  }, [rows, sort, names, q]);

  // The window: which rows the scroll position shows.
  const box = useRef(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const frame = useRef(0);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  function onScroll() {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = box.current;
      if (el) setView({ top: el.scrollTop, height: el.clientHeight });
    });
  }
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(sorted.length, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);

  function search(e) {
    e.preventDefault();
    const v = typed.trim();
    navigate('/vms' + (v ? '?q=' + encodeURIComponent(v) : ''), true);
  }
  const header = (key, label) => {
    const active = sort.key === key;
    return (
      <th scope="col" aria-sort={active ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'}>
        <button type="button" class="link sort" data-testid={'sort-' + key}
          onClick={() => setSort({ key, dir: active ? -sort.dir : 1 })}>
          {label}{active ? (sort.dir > 0 ? ' ▲' : ' ▼') : ''}
        </button>
      </th>
    );
  };
  return (
    <section class="vm-list">
      <div class="page-head">
        <h1>{t('vmlist.title')}</h1>
        <p class="muted" role="status" data-testid="vm-count">
          {done ? t(more ? 'vmlist.count_more' : 'vmlist.count', { n: rows.length }) : t('vmlist.loading', { n: rows.length })}
        </p>
      </div>
      <form class="inline" role="search" onSubmit={search}>
        <label for="vm-filter">{t('vmlist.filter')}</label>
        <input id="vm-filter" type="search" value={typed} placeholder={t('vmlist.filter_hint')}
          onInput={(e) => setTyped(e.currentTarget.value)} />
        <button type="submit">{t('vmlist.filter_go')}</button>
      </form>
      <ErrorText error={error} />
      <div class="vlist" ref={box} onScroll={onScroll} tabindex="0" role="region" aria-label={t('vmlist.title')}
        data-testid="vm-list" data-count={done ? sorted.length : -1}>
        <table aria-rowcount={sorted.length + 1}>
          <thead>
            <tr aria-rowindex={1}>
              {header('name', t('vmlist.name'))}
              {header('state', t('vmlist.state'))}
              {header('host', t('vmlist.host'))}
              {header('project', t('vmlist.project'))}
            </tr>
          </thead>
          <tbody>
            {first > 0 ? <tr class="spacer" aria-hidden="true" style={{ height: first * ROW + 'px' }}><td colSpan={4} /></tr> : null}
            {sorted.slice(first, last).map((v, i) => (
              <tr key={v.id} class="vrow" aria-rowindex={first + i + 2}>
                <td><Link href={'/vms/' + enc(v.id)}>{v.name}</Link></td>
                <td><StateBadge state={v.power_state} /></td>
                <td>{(v.placement && v.placement.host) || '-'}</td>
                <td>{v.project_id ? names[v.project_id] || v.project_id : t('vm.shared')}</td>
              </tr>
            ))}
            {last < sorted.length ? <tr class="spacer" aria-hidden="true" style={{ height: (sorted.length - last) * ROW + 'px' }}><td colSpan={4} /></tr> : null}
          </tbody>
        </table>
      </div>
      {done && !rows.length && !error ? <p class="muted">{t('vmlist.empty')}</p> : null}
    </section>
  );
}
