// Sign in with a user name and password (a login token for the UI is made)
// or with an API token; either stays in this tab's sessionStorage only.
import { useState } from 'preact/hooks';
import { signIn } from '../api.js';
import { liveSettled } from '../live.js';
import { navigate } from '../router.js';
import { ErrorText, Field } from '../components.jsx';
import { t, lang, languages, setLang } from '../i18n/index.js';

export function SignIn() {
  const [mode, setMode] = useState('password');
  const [user, setUser] = useState('admin');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const expired = sessionStorage.getItem('vdc.expired') === '1';
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(mode === 'password' ? { user, password } : { token: token.trim() });
      sessionStorage.removeItem('vdc.expired');
      await liveSettled();
      const next = new URLSearchParams(location.search).get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
    } catch (err) {
      setError(err.status === 401 ? new Error(t('signin.bad_credentials')) : err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">{t('signin.title')}</h1>
        {expired ? <p class="notice" role="status">{t('signin.expired')}</p> : null}
        <fieldset class="tabs">
          <legend class="sr-only">{t('signin.how')}</legend>
          <label><input type="radio" name="mode" value="password" checked={mode === 'password'} onChange={() => setMode('password')} /> {t('signin.with_password')}</label>
          <label><input type="radio" name="mode" value="token" checked={mode === 'token'} onChange={() => setMode('token')} /> {t('signin.with_token')}</label>
        </fieldset>
        {mode === 'password' ? (
          <>
            <Field label={t('signin.user')} id="user">
              <input id="user" name="user" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
            </Field>
            <Field label={t('signin.password')} id="password">
              <input id="password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </Field>
          </>
        ) : (
          <Field label={t('signin.token')} id="token" hint={t('signin.token_hint')}>
            <input id="token" name="token" type="password" autocomplete="off" required value={token} aria-describedby="token-hint" onInput={(e) => setToken(e.currentTarget.value)} />
          </Field>
        )}
        <ErrorText error={error} />
        <button class="primary" type="submit" disabled={busy}>{busy ? t('signin.busy') : t('signin.submit')}</button>
        <p>
          <label for="lang-signin">{t('nav.language')} </label>
          <select id="lang-signin" value={lang.value} onChange={(e) => setLang(e.currentTarget.value)}>
            {languages.map((l) => <option value={l.code}>{l.name}</option>)}
          </select>
        </p>
      </form>
    </main>
  );
}
