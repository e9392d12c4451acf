// `npm run bundle`: the CLI as one CommonJS file (dist/bundle/cli.cjs) plus its bin loader
// (dist/bundle/main.js, see src/cli/bin.ts). One file, not ESM chunks: a cold start resolves one
// module and can use a V8 code cache on Node 20. Dynamic imports become lazy in-file inits, so a
// command still runs only the code it needs. dist/bundle.meta.json lists what went in.
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const out = 'dist/bundle';
rmSync(out, { recursive: true, force: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  logLevel: 'warning',
  // import() of node: built-ins as lazy require(): no ESM loader start-up in a CommonJS process.
  supported: { 'dynamic-import': false },
};
const cli = await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: `${out}/cli.cjs`,
  metafile: true,
  define: { 'import.meta.url': '__kfImportMetaUrl' },
  banner: { js: "const __kfImportMetaUrl=require('node:url').pathToFileURL(__filename).href;" },
});
writeFileSync('dist/bundle.meta.json', JSON.stringify(cli.metafile));
const hash = createHash('sha256')
  .update(readFileSync(`${out}/cli.cjs`))
  .digest('hex')
  .slice(0, 16);
await build({
  ...common,
  entryPoints: ['src/cli/bin.ts'],
  outfile: `${out}/main.js`,
  define: { __KF_BUNDLE_HASH__: JSON.stringify(hash) },
  banner: { js: '#!/usr/bin/env node' },
});
// package.json says "type": "module"; these two files are CommonJS.
writeFileSync(`${out}/package.json`, '{ "type": "commonjs" }\n');
chmodSync(`${out}/main.js`, 0o755);
