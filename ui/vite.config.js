// Vite builds the UI into the folder VDC_UI_OUT names (scripts/build-ui.sh:
// the build dir's ui/, never the source tree). JSX is Preact's, through
// esbuild's automatic runtime: no Babel, no plugin. Vite 6, not newer:
// it runs on Debian 12's node 18 as well as on node 20 and 22.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: process.env.VDC_UI_OUT || '../build/ui',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // The CSP forbids inline scripts: keep every script in a file.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // noVNC 1.7 uses a top-level await (its H.264 probe): ES2022, which
    // every browser of the last four years runs.
    target: 'es2022',
  },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
});
