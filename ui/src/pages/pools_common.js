// What the pools page, the inventory tree and the VM page share about a
// cluster's resource pools: the tree the flat list (GET
// /api/v1/clusters/{id}/pools) makes by parent_id, and how a number typed
// in a pool form is sent.

// Each pool's children by parent id ('' for the top level), by name. A
// pool whose parent is not in the list counts as top level: it stays
// visible rather than vanish with a pool deleted meanwhile.
export function childrenOf(pools) {
  const ids = new Set(pools.map((p) => p.id));
  const kids = new Map([['', []]]);
  for (const p of [...pools].sort((a, b) => a.name.localeCompare(b.name))) {
    const parent = p.parent_id && ids.has(p.parent_id) ? p.parent_id : '';
    if (!kids.has(parent)) kids.set(parent, []);
    kids.get(parent).push(p);
  }
  return kids;
}

// The pools in tree order (a parent before its children), each with its
// depth (0: top level). A cycle vdcd would never store is cut, not looped.
export function treeOrder(pools) {
  const kids = childrenOf(pools);
  const out = [], seen = new Set();
  const walk = (parent, depth) => {
    for (const p of kids.get(parent) || []) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      out.push({ pool: p, depth });
      walk(p.id, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

// A typed number as vdcd takes it: an integer as a number; anything else
// as typed, so that vdcd's refusal names the field ('' is null: no value).
export function intOr(s) {
  const v = String(s).trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) ? n : v;
}
