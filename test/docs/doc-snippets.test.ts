import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/npm-projects.js';

// Every TypeScript or JavaScript snippet of README.md and docs/*.md is a file under examples/,
// word for word, named by a `<!-- example: examples/<file> -->` marker right before its code
// block; the root tsconfig type-checks examples/, and a test under test/docs runs each one.
// (Shell commands, YAML, JSON and sample output are shown as they are.)

const documents = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const CODE_BLOCK = /(?:<!-- example: (\S+) -->\s*)?```(ts|typescript|js|javascript|mjs|cjs)\n([\s\S]*?)```/g;

interface Snippet {
  readonly document: string;
  readonly line: number;
  readonly example: string | undefined;
  readonly code: string;
}

function snippets(): Snippet[] {
  return documents.flatMap((document) => {
    const text = readFileSync(join(ROOT, document), 'utf8');
    return [...text.matchAll(CODE_BLOCK)].map((match) => ({
      document,
      line: text.slice(0, match.index).split('\n').length,
      example: match[1],
      code: match[3] as string,
    }));
  });
}

describe('code snippets in README.md and docs/*.md', () => {
  const all = snippets();

  it('each come from a file under examples/, named by the marker right before the block', () => {
    expect(all.length).toBeGreaterThan(5);
    const unmarked = all.filter((s) => s.example === undefined).map((s) => `${s.document}:${s.line}`);
    expect(unmarked, 'put the snippet in examples/ and the <!-- example: examples/<file> --> marker before it').toEqual([]);
    for (const { document, line, example, code } of all) {
      expect(example, `${document}:${line}`).toMatch(/^examples\/[\w.-]+\.ts$/);
      expect(code, `${document}:${line} is ${example} word for word`).toBe(readFileSync(join(ROOT, example as string), 'utf8'));
    }
  });

  it('are each run by a test of test/docs, and every file of examples/ is shown in a document', () => {
    const tests = readdirSync(join(ROOT, 'test', 'docs'))
      .filter((name) => name.endsWith('.test.ts') && name !== 'doc-snippets.test.ts')
      .map((name) => readFileSync(join(ROOT, 'test', 'docs', name), 'utf8'))
      .join('\n');
    const shown = new Set(all.map((s) => s.example));
    for (const file of readdirSync(join(ROOT, 'examples')).filter((name) => name.endsWith('.ts'))) {
      expect(shown.has(`examples/${file}`), `examples/${file} is shown in README.md or docs/*.md`).toBe(true);
      expect(tests, `a test of test/docs imports examples/${file.replace(/\.ts$/, '.js')}`).toContain(`examples/${file.replace(/\.ts$/, '.js')}`);
    }
  });
});
