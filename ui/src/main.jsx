// The UI's entry: the shell (header, navigation, search) around the page
// the path names. The first bundle holds what the first load needs (the
// shell, the sign-in page, the inventory); every other page is a chunk of
// its own, fetched when it is opened or, once signed in, when the browser
// is idle (so that opening one does not wait). What is big and rarely used
// (the consoles' libraries, charts) its page import()s on demand.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { getSession, onSession, signOut } from './api.js';
import { path, navigate, match } from './router.js';
import { useSignal } from './state.js';
import { t, lang } from './i18n/index.js';
import { Shell } from './shell.jsx';
import { ErrorText } from './components.jsx';
import { loadChunk } from './chunk.js';
import { SignIn } from './pages/signin.jsx';
import { Inventory } from './pages/inventory.jsx';

// Each page chunk's state, by its loader: pages from one module share it,
// and the preload fetches each chunk once.
const chunks = new Map();
function chunkOf(load) {
  let c = chunks.get(load);
  if (!c) {
    c = { mod: null, pending: null };
    c.fetch = () => (c.pending ||= loadChunk(load).then((m) => (c.mod = m), (e) => { c.pending = null; throw e; }));
    chunks.set(load, c);
  }
  return c;
}
// A page component exported as `name` by the module load() imports.
function lazy(load, name) {
  const c = chunkOf(load);
  return function Lazy(props) {
    const [error, setError] = useState(null);
    const [, setReady] = useState(false);
    useEffect(() => { if (!c.mod) c.fetch().then(() => setReady(true), setError); }, []);
    if (error) return <ErrorText error={error} />;
    if (!c.mod) return <p class="muted">{t('common.loading')}</p>;
    const Page = c.mod[name];
    return <Page {...props} />;
  };
}
const vm = () => import('./pages/vm.jsx');
const admin = () => import('./pages/admin.jsx');
const tasks = () => import('./pages/tasks.jsx');
const charts = () => import('./pages/charts.jsx');
const consoles = () => import('./pages/console.jsx');
const VmPage = lazy(vm, 'VmPage');
const VmCreate = lazy(() => import('./pages/vm_create.jsx'), 'VmCreate');
const VmList = lazy(() => import('./pages/vm_list.jsx'), 'VmList');
const ObjectPage = lazy(() => import('./pages/object.jsx'), 'ObjectPage');
const ClustersPage = lazy(() => import('./pages/clusters.jsx'), 'ClustersPage');
const PoolsPage = lazy(() => import('./pages/pools.jsx'), 'PoolsPage');
const ClusterHaPage = lazy(() => import('./pages/cluster_ha.jsx'), 'ClusterHaPage');
const AdminHosts = lazy(admin, 'AdminHosts');
const AdminUsers = lazy(admin, 'AdminUsers');
const AdminProjects = lazy(admin, 'AdminProjects');
const AdminProject = lazy(admin, 'AdminProject');
const Tokens = lazy(admin, 'Tokens');
const TasksPage = lazy(tasks, 'TasksPage');
const TaskPage = lazy(tasks, 'TaskPage');
const EventsPage = lazy(tasks, 'EventsPage');
const VmCharts = lazy(charts, 'VmCharts');
const HostCharts = lazy(charts, 'HostCharts');
const SerialConsolePage = lazy(consoles, 'SerialConsolePage');
const VncConsolePage = lazy(consoles, 'VncConsolePage');

// Signed in: the other pages' chunks, once the first page is drawn and
// the browser has nothing else to do (fetched at once, they slowed the
// first page by 60 to 90 ms in bench/ui).
function preloadPages() {
  const idle = window.requestIdleCallback || ((f) => setTimeout(f, 200));
  setTimeout(() => idle(() => chunks.forEach((c) => c.fetch().catch(() => {}))), 3000);
}

// Path patterns, first match wins.
const routes = [
  ['/', Inventory],
  ['/vms', VmList],
  ['/vms/new', VmCreate],
  ['/vms/:id', VmPage],
  ['/vms/:id/console', VncConsolePage],
  ['/vms/:id/serial', SerialConsolePage],
  ['/vms/:id/charts', VmCharts],
  ['/hosts/:id/charts', HostCharts],
  ['/tasks', TasksPage],
  ['/tasks/:id', TaskPage],
  ['/events', EventsPage],
  ['/objects/:kind/:id', ObjectPage],
  ['/clusters', ClustersPage],
  ['/clusters/:id/pools', PoolsPage],
  ['/clusters/:id/ha', ClusterHaPage],
  ['/admin/hosts', AdminHosts],
  ['/admin/users', AdminUsers],
  ['/admin/projects', AdminProjects],
  ['/admin/projects/:id', AdminProject],
  ['/tokens', Tokens],
];

function NotFound() {
  return <section><h1>{t('notfound.title')}</h1><p>{t('notfound.body')}</p></section>;
}

function App() {
  const p = useSignal(path);
  useSignal(lang);
  const [session, setSession] = useState(getSession());
  useEffect(() => onSession(setSession), []);
  useEffect(() => { if (session) preloadPages(); }, [!!session]);
  useEffect(() => {
    if (!session && !p.startsWith('/signin')) {
      const back = p === '/' ? '' : '?next=' + encodeURIComponent(p);
      navigate('/signin' + back, true);
    }
  }, [session, p]);
  if (!session || p.startsWith('/signin')) {
    return <SignIn session={session} />;
  }
  let page = <NotFound />;
  for (const [pattern, Page] of routes) {
    const params = match(pattern, p);
    if (params) { page = <Page key={p} {...params} session={session} />; break; }
  }
  return <Shell session={session} onSignOut={() => { signOut(); navigate('/signin', true); }}>{page}</Shell>;
}

render(<App />, document.getElementById('app'));
