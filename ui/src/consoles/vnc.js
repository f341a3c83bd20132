// vnc.js - the graphical console: noVNC's RFB client on a WebSocket to
// vdcd's proxy (QEMU's VNC server, shared with other viewers). Loaded by
// import() when a graphical console opens.
import RFB from '@novnc/novnc';

// Opens the guest's screen in el, scaled to fit it. on.state(s) hears
// 'connecting', 'connected' and 'closed' (with a reason). Returns
// { ctrlAltDel(), focus(), close() }.
export function openVnc(el, url, protocols, on) {
  on.state('connecting');
  // shared: other viewers keep their connection (QEMU shares anyway).
  const rfb = new RFB(el, url, { wsProtocols: protocols, shared: true });
  rfb.scaleViewport = true; // the whole screen in the window, phone or desktop
  rfb.resizeSession = false; // the guest's resolution is the guest's
  rfb.background = '#111418';
  rfb.addEventListener('connect', () => on.state('connected'));
  rfb.addEventListener('disconnect', (e) => on.state('closed', e.detail && !e.detail.clean ? 'unclean' : ''));
  rfb.addEventListener('securityfailure', (e) => on.state('closed', e.detail && e.detail.reason));
  let closed = false;
  return {
    ctrlAltDel: () => rfb.sendCtrlAltDel(),
    focus: () => rfb.focus(),
    close() { if (!closed) { closed = true; try { rfb.disconnect(); } catch (e) { /* already gone */ } } },
  };
}
