// The UI's entry: the shell (header, navigation, search) around the page
// the path names. Pages load with the shell (they are small); what is big
// and rarely used (the consoles' libraries, charts) is for the pages that
// need it to import() on demand.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { getSession, onSession, signOut } from './api.js';
import { path, navigate, match } from './router.js';
import { useSignal } from './state.js';
import { t, lang } from './i18n/index.js';
import { Shell } from './shell.jsx';
import { SignIn } from './pages/signin.jsx';
import { Inventory } from './pages/inventory.jsx';
import { VmPage } from './pages/vm.jsx';
import { VmCreate } from './pages/vm_create.jsx';
import { VmList } from './pages/vm_list.jsx';
import { ObjectPage } from './pages/object.jsx';
import { ClustersPage } from './pages/clusters.jsx';
import { AdminHosts, AdminUsers, AdminProjects, AdminProject, Tokens } from './pages/admin.jsx';
import { TasksPage, TaskPage, EventsPage } from './pages/tasks.jsx';
import { VmCharts, HostCharts } from './pages/charts.jsx';
import { SerialConsolePage, VncConsolePage } from './pages/console.jsx';

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
