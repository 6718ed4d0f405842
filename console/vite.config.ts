// Builds the console into console/dist (committed, served by rema at /). `npm run console:dev`
// serves it with hot reload and forwards API calls to a rema on REMA_URL (default :8080).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const target = process.env.REMA_URL ?? 'http://127.0.0.1:8080';
const proxied = ['/v1', '/openapi.json', '/docs', '/healthz', '/readyz', '/.well-known'];

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: { proxy: Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: true }])) },
});
