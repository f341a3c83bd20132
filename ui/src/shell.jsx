// The frame around every page: the header (search, language, who is
// signed in, sign out) and the navigation, folded behind a button on a
// phone.
import { useState } from 'preact/hooks';
import { Link, isAdmin, canWrite } from './components.jsx';
import { Search } from './search.jsx';
import { t, lang, languages, setLang } from './i18n/index.js';
import { path } from './router.js';
import { useSignal } from './state.js';
import { LiveIndicator } from './live_status.jsx';

export function Shell({ session, onSignOut, children }) {
  const [menu, setMenu] = useState(false);
  const p = useSignal(path);
  const admin = isAdmin();
  const nav = [
    ['/', t('nav.inventory'), true],
    ['/vms', t('vmlist.nav'), true],
    ['/vms/new', t('nav.create_vm'), canWrite(null)],
    ['/tasks', t('nav.tasks'), true],
    ['/events', t('live.nav'), admin],
    ['/tokens', t('nav.tokens'), true],
    ['/clusters', t('kind.clusters'), true],
    ['/admin/hosts', t('nav.hosts'), admin],
    ['/admin/projects', t('nav.projects'), admin],
    ['/admin/users', t('nav.users'), admin],
  ].filter((n) => n[2]);
  return (
    <div class="shell">
      <a class="skip" href="#main">{t('nav.skip')}</a>
      <header class="top">
        <button type="button" class="menu-button" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
          {t('nav.menu')}
        </button>
        <Link href="/" class="brand">vdc</Link>
        <Search />
        <div class="who">
          <LiveIndicator />
          <label class="sr-only" for="lang">{t('nav.language')}</label>
          <select id="lang" value={lang.value} onChange={(e) => setLang(e.currentTarget.value)}>
            {languages.map((l) => <option value={l.code}>{l.name}</option>)}
          </select>
          <span class="user" data-testid="user">{session.who.user.name}</span>
          <button type="button" onClick={onSignOut} data-testid="signout">{t('nav.signout')}</button>
        </div>
      </header>
      <nav id="nav" class={menu ? 'open' : ''} aria-label={t('nav.label')}>
        <ul>
          {nav.map(([href, label]) => (
            <li><Link href={href} aria-current={p === href ? 'page' : undefined} onClick={(e) => { setMenu(false); }}>{label}</Link></li>
          ))}
        </ul>
      </nav>
      <main id="main" tabindex="-1">{children}</main>
    </div>
  );
}
