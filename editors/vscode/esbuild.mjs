// Bundles the extension into dist/extension.js (vscode is provided by the editor at run time).
// With --tests, also bundles every test/core/*.test.ts into out/test/ for `node --test`: the core is
// plain Node, so its tests need neither VS Code nor a TypeScript loader.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true, logLevel: 'warning' };

await esbuild.build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] });

if (process.argv.includes('--tests')) {
  const tests = readdirSync('test/core').filter((f) => f.endsWith('.test.ts')).map((f) => `test/core/${f}`);
  await esbuild.build({ ...common, entryPoints: tests, outdir: 'out/test' });
}
