#!/usr/bin/env node
// The sw-ingest command line: `sw-ingest serve | export | stats | keys | help`.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/server/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('sw-ingest: the server is not built yet; run `npm run build` in the sw-ingest repository first');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
