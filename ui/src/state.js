// state.js - a tiny observable value (the current path, the language) and
// a hook that re-renders a component when one changes.
import { useEffect, useState } from 'preact/hooks';

export function signal(initial) {
  const subs = new Set();
  let v = initial;
  return {
    get value() { return v; },
    set value(nv) { if (nv !== v) { v = nv; subs.forEach((f) => f(v)); } },
    subscribe(f) { subs.add(f); return () => subs.delete(f); },
  };
}

export function useSignal(s) {
  const [, set] = useState(0);
  useEffect(() => s.subscribe(() => set((n) => n + 1)), [s]);
  return s.value;
}
