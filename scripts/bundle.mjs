// `npm run bundle`: the CLI as one CommonJS file (dist/bundle/cli.cjs), the same CLI with only the
// purge commands (dist/bundle/purge.cjs: a deploy step's cold start reads and compiles a fifth of the
// code) and their bin loader (dist/bundle/main.cjs, see src/cli/bin.ts). One file each, not ESM
// chunks: a cold start resolves one module and can use a V8 code cache on Node 20. Dynamic imports
// become lazy in-file inits, so a command still runs only the code it needs.
// dist/bundle.meta.json and dist/bundle-purge.meta.json list what went in.
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
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- package.json's version is a string
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
/** One CLI bundle: `main` has every command, `purge` only the purge commands (bin.ts picks). */
const cliBundle = (entry, name) =>
  build({
    ...common,
    entryPoints: [entry],
    outfile: `${out}/${name}.cjs`,
    metafile: true,
    // import.meta.url as a getter: computed where used, not by every start (node:url costs a cold purge).
    define: { 'import.meta.url': '__kfMeta.url', __KF_VERSION__: JSON.stringify(version) },
    banner: {
      js: "const __kfMeta={get url(){return require('node:url').pathToFileURL(__filename).href}};",
    },
  });
const [cli, purge] = await Promise.all([
  cliBundle('src/cli/main.ts', 'cli'),
  cliBundle('src/cli/purge-main.ts', 'purge'),
]);
writeFileSync('dist/bundle.meta.json', JSON.stringify(cli.metafile));
writeFileSync('dist/bundle-purge.meta.json', JSON.stringify(purge.metafile));
const hash = createHash('sha256')
  .update(readFileSync(`${out}/cli.cjs`))
  .update(readFileSync(`${out}/purge.cjs`))
  .digest('hex')
  .slice(0, 16);
// .cjs, like the bundles: Node knows their module type from the name, without looking for the
// package.json that declares it (a cold purge on Node 20 spent ~2 ms on that).
await build({
  ...common,
  entryPoints: ['src/cli/bin.ts'],
  outfile: `${out}/main.cjs`,
  define: { __KF_BUNDLE_HASH__: JSON.stringify(hash) },
  banner: { js: '#!/usr/bin/env node' },
});
chmodSync(`${out}/main.cjs`, 0o755);
