import { EMBEDDED_ROUTES } from './embedded-upstream/embedded-routes.js';
import { ROUTES } from './routes.js';
import type { StartedService } from './service.js';

/**
 * What `npm start` prints once the service listens: the URLs to open, and what to try.
 * Secrets are not in it (only whether the admin API is on).
 */
export function formatBanner(service: Pick<StartedService, 'url' | 'config' | 'target' | 'embedded'>): string {
  const { url, config, target, embedded } = service;
  const link = (path: string): string => `${url}/${path}`;
  const rows: Array<[string, string]> = [
    ['Dashboard', link(ROUTES.dashboard)],
    ['Proxy', `${link(`${ROUTES.proxy}/echo`)}   -> ${target.toString()}${target.embedded ? ' (embedded upstream)' : ''}`],
    ['Pool', link(ROUTES.pool)],
    ['Pool events', `${link(config.eventsPath)}   (Server-Sent Events; cleanup ticks: /${ROUTES.cleanupTicks})`],
    ['Metrics', link(ROUTES.metrics)],
    ['Health', `${link(ROUTES.healthLive)}   /${ROUTES.healthReady}   /${ROUTES.healthStartup}`],
  ];
  if (embedded?.tlsUrl) rows.push(['Upstream TLS', `${embedded.tlsUrl.origin}   (HTTP/2 and HTTP/1.1, self-signed certificate)`]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    '',
    `reactive-connection-pool gateway: listening on ${url} (pid ${process.pid})`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
  ];
  if (target.embedded) {
    lines.push(`  Upstream routes: ${EMBEDDED_ROUTES.map((route) => route.pattern).join('  ')}`);
    lines.push(`  Try: curl ${link(`${ROUTES.proxy}/delay/1500`)}  and watch the dashboard.`);
    lines.push('');
  }
  lines.push(
    config.adminToken === undefined
      ? '  Admin API off (set ADMIN_TOKEN to evict connections with DELETE /pool/connections/:id).'
      : '  Admin API on: DELETE /pool/connections/:id with "Authorization: Bearer $ADMIN_TOKEN".',
  );
  lines.push(`  Ctrl+C (or SIGTERM) drains: requests in flight finish, within ${config.drainTimeoutMs} ms.`, '');
  return lines.join('\n');
}
