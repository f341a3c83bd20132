// i18n - every string the UI shows comes from one catalog per language
// (en.json, ko.json): a translation is one file. t('key', {n: 3}) fills
// {n}; a key missing from a catalog falls back to English, then to itself.
// English is in the first bundle (every key's fallback); another catalog is
// a chunk fetched when its language is chosen (or was, in this browser):
// a first load in English does not parse 14 KB of Korean, and a Korean one
// shows English for the few ms the catalog takes.
import en from './en.json';
import { signal } from '../state.js';
import { loadChunk } from '../chunk.js';

const loaders = { ko: () => import('./ko.json') };
export const catalogs = { en };
export const languages = [
  { code: 'en', name: 'English' },
  { code: 'ko', name: '한국어' },
];
const known = (code) => languages.some((l) => l.code === code);

function initial() {
  const saved = localStorage.getItem('vdc.lang');
  if (saved && known(saved)) return saved;
  const nav = (navigator.language || 'en').slice(0, 2);
  return known(nav) ? nav : 'en';
}

export const lang = signal('en');
document.documentElement.lang = 'en';

let wanted = 'en'; // the last choice: a catalog that comes late does not undo a newer one
export async function setLang(code, save = true) {
  if (!known(code)) return;
  if (save) localStorage.setItem('vdc.lang', code);
  wanted = code;
  if (!catalogs[code]) {
    try {
      catalogs[code] = (await loadChunk(loaders[code])).default;
    } catch (e) {
      return; // not reachable now: stay in the language shown
    }
  }
  if (wanted !== code) return;
  document.documentElement.lang = code;
  lang.value = code;
}

const first = initial();
if (first !== 'en') setLang(first, false);

export function t(key, vars) {
  const s = (catalogs[lang.value] || en)[key] ?? en[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}
