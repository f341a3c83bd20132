// i18n - every string the UI shows comes from one catalog per language
// (en.json, ko.json): a translation is one file. t('key', {n: 3}) fills
// {n}; a key missing from a catalog falls back to English, then to itself.
import en from './en.json';
import ko from './ko.json';
import { signal } from '../state.js';

export const catalogs = { en, ko };
export const languages = [
  { code: 'en', name: 'English' },
  { code: 'ko', name: '한국어' },
];

function initial() {
  const saved = localStorage.getItem('vdc.lang');
  if (saved && catalogs[saved]) return saved;
  const nav = (navigator.language || 'en').slice(0, 2);
  return catalogs[nav] ? nav : 'en';
}

export const lang = signal(initial());
document.documentElement.lang = lang.value;

export function setLang(code) {
  if (!catalogs[code]) return;
  localStorage.setItem('vdc.lang', code);
  document.documentElement.lang = code;
  lang.value = code;
}

export function t(key, vars) {
  const s = catalogs[lang.value][key] ?? en[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}
