/**
 * The service's routes (without their leading slash, as Nest takes them), in one place so
 * that the banner, the dashboard's links, the configuration's conflict check and the tests
 * agree.
 */
export const ROUTES = {
  dashboard: '',
  dashboardAssets: 'dashboard',
  proxy: 'proxy',
  pool: 'pool',
  poolConnections: 'pool/connections',
  cleanupTicks: 'pool/cleanup-ticks',
  metrics: 'metrics',
  healthLive: 'health/live',
  healthReady: 'health/ready',
  healthStartup: 'health/startup',
} as const;

/** Routes that `EVENTS_PATH` must not take or sit under. */
export const RESERVED_ROUTE_PREFIXES: readonly string[] = [
  ROUTES.dashboardAssets,
  ROUTES.proxy,
  ROUTES.poolConnections,
  ROUTES.cleanupTicks,
  ROUTES.metrics,
  'health',
];

/** Routes that `EVENTS_PATH` must not be exactly. */
export const RESERVED_ROUTES: readonly string[] = [ROUTES.dashboard, ROUTES.pool];
