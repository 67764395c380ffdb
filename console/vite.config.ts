// Builds the console into console/dist, which the API server serves (src/api/console-static.ts).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's CSP allows no inline script or style (src/api/security.ts): never inline assets
    // as data: URLs into scripts, and keep CSS in its own file.
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    // ~200 kB of React plus the app; a warning above that would only be noise.
    chunkSizeWarningLimit: 600,
  },
});
