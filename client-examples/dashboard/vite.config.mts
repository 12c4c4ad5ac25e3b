import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The operations dashboard. `npm run build:dashboard` writes dist/dashboard/, which Recoup serves
 * at /dashboard/. `npm run dashboard:dev` serves it with hot reload and forwards /graphql (HTTP and
 * WebSocket) to a Recoup on RECOUP_URL (default http://127.0.0.1:4000).
 */
export default defineConfig({
  root: here,
  base: '/dashboard/',
  logLevel: 'warn',
  build: {
    outDir: process.env.DASHBOARD_OUT_DIR ?? `${projectRoot}dist/dashboard`,
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/graphql': { target: process.env.RECOUP_URL ?? 'http://127.0.0.1:4000', ws: true },
    },
  },
});
