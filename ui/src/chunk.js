// chunk.js - loads a chunk (a dynamic import) and tries again when the
// fetch fails. A request can be dropped by the network (an interface that
// changed, a proxy that restarted); a page whose chart or console library
// did not come would otherwise stay empty until a reload. Chromium keeps
// no failed module in its map, so a second import() fetches again.
const WAITS_MS = [300, 1000, 3000];

export async function loadChunk(load) {
  for (let i = 0; ; i++) {
    try {
      return await load();
    } catch (e) {
      if (i >= WAITS_MS.length) throw e;
      await new Promise((r) => setTimeout(r, WAITS_MS[i]));
    }
  }
}
