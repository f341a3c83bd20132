// Vite builds the UI into the folder VDC_UI_OUT names (scripts/build-ui.sh:
// the build dir's ui/, never the source tree). JSX is Preact's, through
// esbuild's automatic runtime: no Babel, no plugin.
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
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
