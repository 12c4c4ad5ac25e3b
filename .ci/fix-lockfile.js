#!/usr/bin/env node
// The registry reachable here lacks some platform-only optional packages (e.g. @swc/core-darwin-*),
// so `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock as out
// of sync. This adds a bare optional entry for each missing one; on this platform npm skips them.
// Run after every `npm install` that changes the lock (idempotent).
const fs = require('node:fs');
const path = require('node:path');

const lockPath = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
let added = 0;
for (const [location, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const nested = `${location ? `${location}/` : ''}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[nested] || lock.packages[hoisted]) continue;
    lock.packages[hoisted] = { version: version.replace(/^[\^~=]/, ''), ...(pkg.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
fs.writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lockfile: added ${added} optional entr${added === 1 ? 'y' : 'ies'}`);
