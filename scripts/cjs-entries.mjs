// Makes the CommonJS face of every entry point after tsc has compiled the ESM build
// (`node scripts/cjs-entries.mjs [outDir]`, run by `npm run build`). docs/packaging.md says why.
//
// For each subpath of package.json "exports" (except ./package.json), whose shape is
//   { "import":  { "types": "./dist/x/index.d.ts",  "default": "./dist/x/index.js" },
//     "require": { "types": "./dist/x/index.d.cts", "default": "./dist/x/index.cjs" } }
// it writes:
// - the "require" JavaScript: a CommonJS file whose module.exports is the ESM module itself,
//   loaded with require() (Node >= 20.19 runs require(esm)). `import` and `require()` then share
//   one instance of the code: one ConnectionPool class, one registry of module state.
// - the "require" types: a CommonJS (.d.cts) copy of the entry's declarations and of every
//   declaration file they reach, so that TypeScript's CommonJS modes (node10, node16, nodenext)
//   see a CommonJS module with the same named exports, as the JavaScript is.
//
// A new entry point needs only its "exports" subpath (and its "typesVersions" line, for node10):
// test/docs/package.test.ts checks that every subpath has all of them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(root, process.argv[2] ?? 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Where a path of package.json ("./dist/x.js") is in the build output being made. */
function built(path) {
  const inDist = relative('dist', path.replace(/^\.\//, ''));
  if (inDist.startsWith('..')) throw new Error(`package.json "exports" points outside dist/: ${path}`);
  return join(outDir, inDist);
}

// Relative module specifiers in declaration files: `from './x.js'`, `import('./x.js')`, `import './x.js'`.
const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*?)\.js\2/g;

/** Writes `x.d.cts` beside `x.d.ts` and beside every declaration file it reaches. */
function writeCommonJsDeclarations(entry) {
  const pending = [entry];
  const done = new Set();
  while (pending.length > 0) {
    const file = pending.pop();
    if (done.has(file)) continue;
    done.add(file);
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(RELATIVE_SPECIFIER, (_match, keyword, quote, specifier) => {
      const target = join(dirname(file), `${specifier}.d.ts`);
      if (!existsSync(target)) throw new Error(`${relative(root, file)} imports ${specifier}.js, which has no declaration file`);
      pending.push(target);
      return `${keyword}${quote}${specifier}.cjs${quote}`;
    });
    writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), rewritten);
  }
  return done.size;
}

let declarations = 0;
for (const [subpath, conditions] of Object.entries(pkg.exports)) {
  if (subpath === './package.json') continue;
  const esm = conditions?.import;
  const cjs = conditions?.require;
  if (typeof esm?.default !== 'string' || typeof esm?.types !== 'string' || typeof cjs?.default !== 'string' || typeof cjs?.types !== 'string') {
    throw new Error(`package.json "exports"["${subpath}"] needs "import": { "types", "default" } and "require": { "types", "default" } (see docs/packaging.md)`);
  }
  if (!cjs.default.endsWith('.cjs') || !cjs.types.endsWith('.d.cts') || cjs.types !== esm.types.replace(/\.d\.ts$/, '.d.cts')) {
    throw new Error(`package.json "exports"["${subpath}"].require must be the .cjs / .d.cts beside ${esm.default} / ${esm.types}`);
  }
  const esmFile = built(esm.default);
  if (!existsSync(esmFile)) throw new Error(`${subpath}: ${relative(root, esmFile)} was not built`);
  const cjsFile = built(cjs.default);
  let specifier = relative(dirname(cjsFile), esmFile);
  if (!specifier.startsWith('.')) specifier = `./${specifier}`;
  writeFileSync(
    cjsFile,
    `'use strict';\n` +
      `// require('${join(pkg.name, subpath)}'): the ES module itself (Node >= 20.19 require()s ES modules), so that\n` +
      `// require() and import share one instance of every class and of all module state.\n` +
      `module.exports = require(${JSON.stringify(specifier)});\n`,
  );
  declarations += writeCommonJsDeclarations(built(esm.types));
}
console.log(`cjs-entries: ${Object.keys(pkg.exports).length - 1} CommonJS entry points, ${declarations} .d.cts declaration files`);
