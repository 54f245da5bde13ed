// Empties the build output before a build (`node scripts/clean.mjs [outDir]`, default dist), run
// by `npm run build`: tsc never deletes what a removed source file compiled to, and `npm pack`
// would ship it.
import { rmSync } from 'node:fs';

rmSync(process.argv[2] ?? 'dist', { recursive: true, force: true });
