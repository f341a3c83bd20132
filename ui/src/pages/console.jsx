// A VM's consoles: /vms/ID/serial (xterm.js) and /vms/ID/console (noVNC).
// Each connection asks vdcd for a ticket (POST .../console/ticket: 30 s,
// one stream, bound to the user, the VM and its project) and sends it as a
// WebSocket subprotocol, never in the URL. The terminal and VNC libraries
// are import()ed here, so they load only when a console opens. Several
// viewers may share a console (the agent fans the serial port out; QEMU's
// VNC is shared).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, enc } from '../api.js';
import { Link, ErrorText } from '../components.jsx';
import { t } from '../i18n/index.js';
import { loadChunk } from '../chunk.js';
import './console.css';

// Keys a phone's keyboard lacks, for the serial console.
const KEYS = [
  ['enter', '\r'], ['tab', '\t'], ['esc', '\x1b'], ['ctrl_c', '\x03'], ['ctrl_d', '\x04'],
  ['up', '\x1b[A'], ['down', '\x1b[B'], ['left', '\x1b[D'], ['right', '\x1b[C'],
];

function wsUrl(p) {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + p;
}

// Connects a console of the kind to the element; returns the handle.
async function connect(kind, vmId, el, onState) {
  const tk = await post('/api/v1/vms/' + enc(vmId) + '/console/ticket', { kind });
  const mod = await loadChunk(kind === 'serial' ? () => import('../consoles/serial.js') : () => import('../consoles/vnc.js'));
  const open = kind === 'serial' ? mod.openSerial : mod.openVnc;
  return open(el, wsUrl(tk.path), ['binary', tk.protocol + tk.ticket], { state: onState });
}

function ConsolePage({ id, kind }) {
  const [vm, setVm] = useState(null);
  const [error, setError] = useState(null);
  const [state, setState] = useState('connecting');
  const [attempt, setAttempt] = useState(0);
  const screen = useRef(null);
  const handle = useRef(null);
  useEffect(() => {
    let live = true;
    setError(null);
    setState('connecting');
    (async () => {
      const v = await get('/api/v1/vms/' + enc(id));
      if (!live) return;
      setVm(v);
      const h = await connect(kind, v.id, screen.current, (s) => live && setState(s));
      if (live) handle.current = h;
      else h.close();
    })().catch((e) => { if (live) { setError(e); setState('closed'); } });
    return () => { live = false; if (handle.current) handle.current.close(); handle.current = null; };
  }, [id, kind, attempt]);

  const other = kind === 'serial' ? 'console' : 'serial';
  const send = (s) => { if (handle.current) { handle.current.send(s); handle.current.focus(); } };
  return (
    <section class={'console console-' + kind}>
      <div class="page-head console-head">
        <h1>{t(kind === 'serial' ? 'console.serial_title' : 'console.vnc_title', { name: vm ? vm.name : id })}</h1>
        <p class={'badge console-state state-' + state} role="status" data-testid="console-state">{t('console.state_' + state)}</p>
        <div class="links">
          <Link href={'/vms/' + enc(id)}>{t('console.back')}</Link>
          <Link href={'/vms/' + enc(id) + '/' + other} data-testid={'open-' + (other === 'console' ? 'vnc' : 'serial')}>{t(other === 'serial' ? 'console.open_serial' : 'console.open_vnc')}</Link>
        </div>
      </div>
      <ErrorText error={error} />
      <div class="actions console-actions">
        {state === 'closed' ? <button type="button" data-testid="console-reconnect" onClick={() => setAttempt((n) => n + 1)}>{t('console.reconnect')}</button> : null}
        {kind === 'vnc' ? <button type="button" data-testid="ctrl-alt-del" disabled={state !== 'connected'} onClick={() => handle.current && handle.current.ctrlAltDel()}>{t('console.ctrl_alt_del')}</button> : null}
      </div>
      <div class="console-screen" ref={screen} data-testid={kind + '-screen'} role="region" aria-label={t(kind === 'serial' ? 'console.serial_region' : 'console.vnc_region')} />
      {kind === 'serial' ? (
        <div class="console-keys" role="group" aria-label={t('console.keys')}>
          {KEYS.map(([k, seq]) => (
            <button type="button" data-testid={'key-' + k} aria-label={k.length < 6 && /up|down|left|right/.test(k) ? t('console.keyname_' + k) : undefined} title={t('console.keyname_' + k)} disabled={state !== 'connected'}
              onPointerDown={(e) => e.preventDefault() /* keep the terminal's focus (a phone's keyboard stays up) */}
              onClick={() => send(seq)}>{t('console.key_' + k)}</button>
          ))}
        </div>
      ) : null}
    </section>
  );
}

export const SerialConsolePage = ({ id }) => <ConsolePage id={id} kind="serial" />;
export const VncConsolePage = ({ id }) => <ConsolePage id={id} kind="vnc" />;
