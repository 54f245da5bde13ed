// Copies the files tsc does not emit (the dashboard's HTML, CSS and JavaScript) next to the
// compiled service: `node scripts/copy-assets.mjs [outDir]` (default dist), run by `npm run build`.
import { cpSync } from 'node:fs';
import { join } from 'node:path';

const outDir = process.argv[2] ?? 'dist';
cpSync('src/app/dashboard/public', join(outDir, 'app', 'dashboard', 'public'), { recursive: true });
