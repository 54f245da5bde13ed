import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtServiceEntry } from '../app/support/built-service.js';
import { ServiceProcess } from '../app/support/service-process.js';

let entry: string;
const started: ServiceProcess[] = [];
beforeAll(async () => {
  entry = await builtServiceEntry();
}, 120_000);
afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.stop()));
});

describe('the boot error for a refused UPSTREAM_URL (npm start)', { timeout: 120_000 }, () => {
  it.each([
    ['credentials', 'https://svc-account:Pa55-w0rd-s3cret@api.example.com/v1', 'https://api.example.com/v1'],
    ['a query', 'http://api.example.com/v1?api_key=k3y-s3cret&x=1', 'http://api.example.com/v1'],
    ['both, in a URL that does not parse', 'http://user:pa/ss-s3cret@api.example.com:99999/?token=t0k3n-s3cret', 'http://api.example.com:99999/'],
  ])('with %s: exit 78, the URL shown without them, no stack', async (_what, url, shown) => {
    const service = ServiceProcess.start(entry, { UPSTREAM_URL: url, PORT: '0' });
    started.push(service);
    expect(await service.exit()).toEqual({ code: 78, signal: null });
    expect(service.stderr).toContain(`UPSTREAM_URL=${JSON.stringify(shown)} (credentials and query not shown)`);
    expect(service.output).not.toMatch(/s3cret|k3y|t0k3n|svc-account|pa\/ss/);
    expect(service.output).not.toMatch(/\n\s+at /);
  });
});
