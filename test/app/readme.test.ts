import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLE_NAMES, ENV_VARIABLES } from '../../src/app/config/env-variables.js';
import { ROUTES } from '../../src/app/routes.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## The reference service'), readme.indexOf('## Development'));

describe("the README's section on the reference service", () => {
  it('documents exactly the variables the service reads, each with its default and meaning', () => {
    const rows = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| (.+?) \| (.+?) \|$/gm)].map(([, name, defaultText, meaning]) => ({ name, defaultText, meaning }));
    expect(rows.map((row) => row.name)).toEqual(ENV_VARIABLE_NAMES);
    for (const row of rows) {
      const variable = ENV_VARIABLES[row.name as keyof typeof ENV_VARIABLES];
      expect(row.defaultText, row.name).toBe(variable.defaultText);
      expect(row.meaning, row.name).toBe(variable.description);
    }
  });

  it('lists every route the service serves', () => {
    const documented = [...section.matchAll(/^\| `(?:GET|ANY|DELETE) (\/[^`]*)` \|/gm)].map(([, path]) => path);
    const served = [
      `/${ROUTES.proxy}/*`,
      `/${ROUTES.healthLive}`,
      `/${ROUTES.healthReady}`,
      `/${ROUTES.healthStartup}`,
      `/${ROUTES.metrics}`,
      `/${ROUTES.pool}`,
      `/${ROUTES.poolConnections}/:id`,
      `/${ENV_VARIABLES.EVENTS_PATH.parse(ENV_VARIABLES.EVENTS_PATH.default as string)}`,
      `/${ROUTES.cleanupTicks}`,
      `/${ROUTES.dashboard}`,
    ];
    expect(documented).toEqual(served);
  });
});
