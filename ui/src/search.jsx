// The search box: any object by the start of its name, however many there
// are (each list route answers ?q=PREFIX from an index, a few at a time).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, enc } from './api.js';
import { Link, isAdmin } from './components.jsx';
import { t } from './i18n/index.js';

const KINDS = ['vms', 'templates', 'images', 'networks', 'clusters', 'datastores', 'hosts'];

export function objectHref(kind, o) {
  return kind === 'vms' ? '/vms/' + enc(o.id) : '/objects/' + kind + '/' + enc(o.id);
}

export function Search() {
  const [q, setQ] = useState('');
  const [results, setResults] = useState(null);
  const timer = useRef(null);
  useEffect(() => {
    clearTimeout(timer.current);
    if (!q.trim()) { setResults(null); return; }
    let live = true;
    timer.current = setTimeout(async () => {
      const kinds = KINDS.filter((k) => k !== 'hosts' || isAdmin());
      const lists = await Promise.all(kinds.map((k) =>
        get('/api/v1/' + k + '?limit=8&q=' + enc(q.trim())).then((r) => ({ kind: k, items: r.items, more: r.more }), () => ({ kind: k, items: [] }))));
      if (live) setResults(lists.filter((l) => l.items.length));
    }, 200);
    return () => { live = false; };
  }, [q]);
  const close = () => { setQ(''); setResults(null); };
  return (
    <div class="search" role="search">
      <label class="sr-only" for="search">{t('search.label')}</label>
      <input id="search" type="search" placeholder={t('search.placeholder')} value={q} autocomplete="off"
        onInput={(e) => setQ(e.currentTarget.value)} onKeyDown={(e) => e.key === 'Escape' && close()} />
      {results ? (
        <div class="search-results" aria-live="polite">
          {results.length === 0 ? <p>{t('search.none')}</p> : results.map((l) => (
            <div>
              <h3>{t('kind.' + l.kind)}</h3>
              <ul>
                {l.items.map((o) => <li><Link href={objectHref(l.kind, o)} onClick={close}>{o.name}</Link></li>)}
                {l.more ? <li class="more">{t('search.more')}</li> : null}
              </ul>
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}
