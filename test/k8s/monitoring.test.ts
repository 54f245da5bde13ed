import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices } from '../app/support/test-service.js';
import { parsePrometheusText, type Exposition } from '../nest/support/prometheus-text.js';
import { K8S_DIR, readYamlDocuments } from './support/kustomize.js';

/**
 * The operators' side of k8s/components/monitoring: the alerts (checked and unit-tested with
 * promtool, from Debian's `prometheus` package: .ci/run installs it), their runbooks, and the
 * Grafana dashboard, whose every query names metrics a running gateway serves.
 */
const MONITORING = join(K8S_DIR, 'components', 'monitoring');
const RUNBOOK = readFileSync(join(K8S_DIR, '..', 'docs', 'runbook.md'), 'utf8');
const ALERT_TESTS = new URL('./monitoring/alerts.test.yaml', import.meta.url);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTestFile {
  tests: Array<{ name: string; alert_rule_test?: Array<{ alertname: string; exp_alerts: Array<{ exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }> }> }>;
}

const [prometheusRule] = readYamlDocuments(join(MONITORING, 'prometheusrule.yaml')) as Array<{ spec: { groups: Array<{ name: string; rules: Rule[] }> } }>;
const groups = prometheusRule?.spec.groups ?? [];
const alerts = groups.flatMap((group) => group.rules).filter((rule): rule is Rule & { alert: string } => rule.alert !== undefined);
const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as {
  panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
};

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool could not run (${result.error.message}): install Debian's "prometheus" package (.ci/run does)`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Renders the `{{ $labels.x }}` of an annotation as Prometheus would; any other template is refused here. */
function render(template: string, labels: Record<string, string>): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
    const match = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(expression);
    if (match === null) throw new Error(`template {{ ${expression} }} is not one this test renders`);
    const value = labels[match[1] as string];
    if (value === undefined) throw new Error(`template {{ ${expression} }}: the alert has no label ${match[1]}`);
    return value;
  });
}

/** Grafana's variables, replaced by values PromQL parses (the queries are checked as PromQL). */
function withoutVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?([a-zA-Z_]+)\}?/g, '.*');
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (not its functions, labels, keywords or durations). */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice((match.index ?? 0) + match[0].length).trimStart();
    if (rest.startsWith('(') || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** The expressions of the dashboard: its panels' queries and its variables' `label_values(<selector>, label)`. */
function dashboardQueries(): string[] {
  const panels = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const variables = dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
      const match = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(query);
      if (match === null) throw new Error(`variable ${variable.name}: ${query} is not label_values(<selector>, <label>)`);
      return match[1] as string;
    });
  return [...panels, ...variables];
}

describe('the alerts (PrometheusRule)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rcp-alerts-'));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(status, output).toBe(0);
  });

  it('each fire on a synthetic series that should fire them, and not on one that should not (promtool test rules)', () => {
    const file = parse(readFileSync(ALERT_TESTS, 'utf8')) as AlertTestFile;
    const fired = new Set<string>();
    const quiet = new Set<string>();
    for (const test of file.tests) {
      for (const check of test.alert_rule_test ?? []) {
        const rule = alerts.find((alert) => alert.alert === check.alertname);
        if (rule === undefined) throw new Error(`test "${test.name}" checks ${check.alertname}, which is not an alert of the rules`);
        (check.exp_alerts.length > 0 ? fired : quiet).add(check.alertname);
        for (const expected of check.exp_alerts) {
          const labels = { alertname: check.alertname, ...expected.exp_labels };
          expected.exp_annotations = Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([key, template]) => [key, render(template, labels)]));
        }
      }
    }
    const names = alerts.map((alert) => alert.alert).sort();
    expect([...fired].sort()).toEqual(names);
    expect([...quiet].sort()).toEqual(names);
    writeFileSync(join(dir, 'alerts.test.yaml'), stringify(file));
    const { status, output } = promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('each have a severity, a summary, a description and a runbook paragraph in docs/runbook.md', () => {
    for (const alert of alerts) {
      expect(['warning', 'critical'], alert.alert).toContain(alert.labels?.severity);
      expect(alert.annotations, alert.alert).toMatchObject({ summary: expect.any(String), description: expect.any(String) });
      const anchor = alert.alert.toLowerCase();
      expect(alert.annotations?.runbook_url).toBe(`https://github.com/reactive-connection-pool/reactive-connection-pool/blob/main/docs/runbook.md#${anchor}`);
      const section = new RegExp(`^### ${alert.alert}\\n\\n([\\s\\S]+?)(?:\\n\\n|$)`, 'm').exec(RUNBOOK);
      expect(section?.[1]?.length ?? 0, `docs/runbook.md: "### ${alert.alert}" followed by its paragraph`).toBeGreaterThan(80);
    }
  });

  it('a broken rule fails promtool, so that the checks above can fail', () => {
    const broken = mkdtempSync(join(tmpdir(), 'rcp-broken-'));
    try {
      writeFileSync(join(broken, 'rules.yaml'), stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum by (pool (connection_pool_waiters)' }] }] }));
      expect(promtool(['check', 'rules', 'rules.yaml'], broken).status).not.toBe(0);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe('the Grafana dashboard and the alerts read metrics a running gateway serves', () => {
  let exposition: Exposition;
  beforeAll(async () => {
    const service = await startTestService();
    // Traffic, so that labelled series exist too (connects, acquisitions, histograms).
    for (let i = 0; i < 3; i++) expect((await service.fetch('/proxy/echo')).status).toBe(200);
    exposition = parsePrometheusText((await service.fetch('/metrics')).text);
  });
  afterAll(stopTestServices);

  /** True if `name` is a metric of the exposition (a histogram's `_bucket`, `_sum`, `_count` included). */
  const served = (name: string): boolean => {
    if (exposition.types.has(name)) return true;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return base !== name && exposition.types.get(base) === 'histogram';
  };

  it('the dashboard is a Grafana dashboard of timeseries panels over a Prometheus data source variable', () => {
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    expect(dashboard.templating.list.find((variable) => variable.type === 'datasource')).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const title of ['Connections by state', 'Acquire wait', 'Evictions by reason', 'Connects and connect failures', 'Retries']) expect(titles).toContain(title);
  });

  it("every query of the dashboard names only metrics of the gateway's /metrics, and parses as PromQL", () => {
    const queries = dashboardQueries();
    const names = new Set(queries.flatMap(metricNamesIn));
    expect(names.size).toBeGreaterThan(10);
    expect([...names].filter((name) => !served(name))).toEqual([]);
    // promtool parses them: as recording rules of a throwaway rule file.
    const dir = mkdtempSync(join(tmpdir(), 'rcp-dashboard-'));
    try {
      const rules = queries.map((expr, i) => ({ record: `dashboard:query_${i}`, expr: withoutVariables(expr) }));
      writeFileSync(join(dir, 'queries.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { status, output } = promtool(['check', 'rules', 'queries.yaml'], dir);
      expect(status, output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every alert's metrics are the gateway's, but kube-state-metrics' readiness", () => {
    const names = new Set(alerts.flatMap((alert) => metricNamesIn(alert.expr)));
    expect([...names].filter((name) => !name.startsWith('kube_') && !served(name))).toEqual([]);
    expect([...names].filter((name) => name.startsWith('kube_'))).toEqual(['kube_pod_status_ready']);
  });

  it('the metric-name reader sees through functions, labels and aggregations', () => {
    expect(metricNamesIn('histogram_quantile(0.95, sum by (le) (rate(connection_pool_acquire_wait_seconds_bucket{pool=~"$pool"}[$__rate_interval])))')).toEqual([
      'connection_pool_acquire_wait_seconds_bucket',
    ]);
    expect(metricNamesIn('sum by (pod) (a_total{x="y"}) / on (pod) b < +Inf')).toEqual(['a_total', 'b']);
    expect(served('connection_pool_acquire_wait_seconds_bucket')).toBe(true);
    expect(served('connection_pool_no_such_metric')).toBe(false);
  });
});

// promtool must be there: CI installs it. A clear message rather than an ENOENT.
try {
  execFileSync('promtool', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('promtool is not installed: apt-get install prometheus (Debian), as .ci/run does');
}
