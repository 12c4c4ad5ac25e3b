import express, { Router } from 'express';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The operations dashboard's static files (client-examples/dashboard, built by Vite). The page
 * holds no data and no secret: every query and subscription it makes carries the operator's
 * credential and passes the same role checks as any other client.
 */
export function dashboardRouter(dir: string | undefined): Router {
  const root = resolve(dir ?? join(packageRoot(), 'dist', 'dashboard'));
  const router = Router();
  router.use('/dashboard', (req, res, next) => {
    // The page is only ever its own origin's: no framing, no third-party scripts, no referrer leaks.
    res.setHeader('content-security-policy', "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-content-type-options', 'nosniff');
    // Relative asset URLs need the trailing slash.
    if (req.originalUrl.split('?')[0] === '/dashboard') return res.redirect(301, '/dashboard/');
    if (!existsSync(join(root, 'index.html'))) {
      return res.status(503).json({ error: 'The dashboard is not built: run `npm run build:dashboard` (npm start builds it).' });
    }
    next();
  });
  router.use(
    '/dashboard',
    express.static(root, {
      index: 'index.html',
      redirect: false,
      // Asset names carry a content hash; index.html must be re-read to pick up a new build.
      setHeaders: (res, path) => res.setHeader('cache-control', path.includes(`${join(root, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
    }),
  );
  return router;
}

/** The folder with package.json: found by walking up from this file, built (dist/src/platform/http) or not (src/platform/http). */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}
