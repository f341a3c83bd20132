// chunk.js - loads a chunk (a dynamic import) and tries again when the
// fetch fails. A request can be dropped by the network (an interface that
// changed, a proxy that restarted); a page whose chart or console library
// did not come would otherwise stay empty until a reload. Chromium keeps
// no failed module in its map, so a second import() fetches again.
//
// A chunk's stylesheet is another matter: Vite's loader adds its <link>
// once and remembers the URL, so a second import() would go on without
// the styles, and the failed <link> would stay in the document (a sheet
// whose rules cannot be read). Before trying again, each stylesheet that
// failed is replaced by a fresh <link> to the same URL.
const WAITS_MS = [300, 1000, 3000];

const failedSheets = new Set();
// 'error' does not bubble; a listener that captures sees every <link>'s.
document.addEventListener('error', (e) => {
  const el = e.target;
  if (el instanceof HTMLLinkElement && el.rel === 'stylesheet') failedSheets.add(el);
}, true);

function reloadSheet(old) {
  return new Promise((resolve, reject) => {
    const fresh = old.cloneNode();
    fresh.addEventListener('load', () => resolve());
    fresh.addEventListener('error', () => reject(new Error('could not load the stylesheet ' + old.href)));
    old.replaceWith(fresh);
  });
}

async function reloadFailedSheets() {
  const failed = [...failedSheets];
  failedSheets.clear();
  await Promise.all(failed.filter((l) => l.isConnected).map(reloadSheet));
}

export async function loadChunk(load) {
  for (let i = 0; ; i++) {
    try {
      if (i > 0) await reloadFailedSheets();
      return await load();
    } catch (e) {
      if (i >= WAITS_MS.length) throw e;
      await new Promise((r) => setTimeout(r, WAITS_MS[i]));
    }
  }
}
