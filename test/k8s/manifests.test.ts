import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../src/app/config/app-config.js';
import { ENV_VARIABLE_NAMES } from '../../src/app/config/env-variables.js';
import { startTestService, stopTestServices } from '../app/support/test-service.js';
import { unknownFields, validateSchema } from './support/k8s-schema.js';
import { K8S_DIR, containersOf, kustomizeBuild, readYamlDocuments, strategicMerge, type K8sObject } from './support/kustomize.js';

const pkg = JSON.parse(readFileSync(join(K8S_DIR, '..', 'package.json'), 'utf8')) as { name: string; version: string };
const BUILDS = { base: 'base', dev: 'overlays/dev', prod: 'overlays/prod' } as const;
const rendered = Object.fromEntries(Object.entries(BUILDS).map(([name, dir]) => [name, kustomizeBuild(join(K8S_DIR, dir))])) as Record<keyof typeof BUILDS, K8sObject[]>;
const RECOMMENDED_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
];
/** Seconds between the drain ending and SIGKILL, for the exit itself. */
const GRACE_MARGIN_S = 5;

afterAll(stopTestServices);

type Container = {
  name: string;
  image: string;
  ports: Array<{ name: string; containerPort: number }>;
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  envFrom: Array<{ configMapRef?: { name: string } }>;
};
type Probe = { httpGet: { path: string; port: string | number } };

function find(objects: readonly K8sObject[], kind: string): K8sObject {
  const object = objects.find((o) => o.kind === kind);
  if (object === undefined) throw new Error(`no ${kind}`);
  return object;
}

function gatewayOf(objects: readonly K8sObject[]): Container {
  const [container] = containersOf(objects.filter((o) => o.kind === 'Deployment'));
  return container as unknown as Container;
}

function configOf(objects: readonly K8sObject[]): Record<string, string> {
  return find(objects, 'ConfigMap').data as Record<string, string>;
}

function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const [command, seconds] = preStop?.exec?.command ?? [];
  return command === 'sleep' ? Number(seconds) : 0;
}

/** A probe's port as a number: a name is looked up among the container's ports. */
function probePort(container: Container, probe: Probe): number {
  const { port } = probe.httpGet;
  if (typeof port === 'number') return port;
  const named = container.ports.find((p) => p.name === port);
  if (named === undefined) throw new Error(`probe port "${port}" names no container port`);
  return named.containerPort;
}

describe('every manifest file', () => {
  const files = (function list(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? list(join(dir, entry.name)) : [join(dir, entry.name)]));
  })(K8S_DIR);

  it.each(files.map((file) => relative(K8S_DIR, file)))('%s parses as YAML (strict: no duplicate keys, no aliases)', (file) => {
    // YAML, or the Grafana dashboard's JSON (JSON is YAML too).
    expect(file).toMatch(/\.yaml$|^components\/monitoring\/grafana-dashboard\.json$/);
    expect(readYamlDocuments(join(K8S_DIR, file)).length).toBeGreaterThan(0);
  });
});

describe.each(Object.keys(BUILDS) as Array<keyof typeof BUILDS>)('the %s build', (name) => {
  const objects = rendered[name];

  // Only prod opts in to the monitoring component (it needs the Prometheus Operator's CRDs).
  const monitoring = name === 'prod' ? ['ConfigMap', 'PrometheusRule', 'ServiceMonitor'] : [];

  it('has a Deployment, Service, ConfigMap, PodDisruptionBudget and HorizontalPodAutoscaler (and in prod the monitoring)', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', ...monitoring].sort());
  });

  it.each(['Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'ServiceMonitor', 'PrometheusRule'])(
    '%s validates against the Kubernetes schema, with no unknown field',
    (kind) => {
      const object = objects.find((o) => o.kind === kind);
      if (object === undefined) return expect(monitoring).not.toContain(kind);
      expect(() => validateSchema(object)).not.toThrow();
      expect(unknownFields(object)).toEqual([]);
    },
  );

  it('every ConfigMap validates against the Kubernetes schema, with no unknown field', () => {
    for (const object of objects.filter((o) => o.kind === 'ConfigMap')) {
      expect(() => validateSchema(object)).not.toThrow();
      expect(unknownFields(object)).toEqual([]);
    }
  });

  it('labels everything with the recommended app.kubernetes.io/* labels, the version being the package version', () => {
    const deployment = find(objects, 'Deployment');
    const template = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
    for (const labels of [...objects.map((o) => o.metadata.labels ?? {}), template.metadata.labels]) {
      // Beyond them, only the label Grafana's dashboard sidecar looks for.
      expect(Object.keys(labels).filter((key) => key !== 'grafana_dashboard').sort()).toEqual([...RECOMMENDED_LABELS].sort());
      expect(labels['app.kubernetes.io/name']).toBe(pkg.name);
      expect(labels['app.kubernetes.io/version']).toBe(pkg.version);
    }
  });

  it('selects the pods it makes: Deployment, Service and PodDisruptionBudget selectors match the pod labels', () => {
    const deployment = find(objects, 'Deployment').spec as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
    const podLabels = deployment.template.metadata.labels;
    const selectors = [
      deployment.selector.matchLabels,
      (find(objects, 'Service').spec as { selector: Record<string, string> }).selector,
      (find(objects, 'PodDisruptionBudget').spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
    ];
    for (const selector of selectors) {
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      expect(podLabels).toMatchObject(selector);
      // The version changes on every release; a selector with it would orphan the old pods.
      expect(selector).not.toHaveProperty(['app.kubernetes.io/version']);
    }
    const hpa = find(objects, 'HorizontalPodAutoscaler').spec as { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: find(objects, 'Deployment').metadata.name });
    expect(hpa.minReplicas).toBeLessThanOrEqual(hpa.maxReplicas);
    expect(find(objects, 'Deployment').spec).not.toHaveProperty('replicas');
  });

  it('runs as a non-root user, read-only root filesystem, no privilege escalation, every capability dropped', () => {
    const deployment = find(objects, 'Deployment').spec as { template: { spec: { securityContext: Record<string, unknown>; automountServiceAccountToken: boolean } } };
    expect(deployment.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: expect.any(Number) });
    expect(deployment.template.spec.securityContext.runAsUser).not.toBe(0);
    expect(deployment.template.spec.automountServiceAccountToken).toBe(false);
    expect(gatewayOf(objects).securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('requests CPU and memory and limits memory', () => {
    const { resources } = gatewayOf(objects);
    expect(resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(resources.limits).toMatchObject({ memory: expect.any(String) });
  });

  it('gives the pod a grace period that covers the preStop sleep, DRAIN_TIMEOUT and a margin', () => {
    const spec = (find(objects, 'Deployment').spec as { template: { spec: { terminationGracePeriodSeconds: number } } }).template.spec;
    const preStop = preStopSeconds(gatewayOf(objects));
    const drainSeconds = loadAppConfig(configOf(objects)).drainTimeoutMs / 1_000;
    expect(preStop).toBeGreaterThan(0);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + drainSeconds + GRACE_MARGIN_S);
  });

  it("holds in its ConfigMap only variables the service reads, with values it accepts, and the container reads it", () => {
    const data = configOf(objects);
    const known: readonly string[] = ENV_VARIABLE_NAMES;
    expect(Object.keys(data).filter((key) => !known.includes(key))).toEqual([]);
    const config = loadAppConfig(data);
    expect(config.warnings).toEqual([]);
    // In a pod the service must listen beyond loopback.
    expect(config.host).toBe('0.0.0.0');
    expect(gatewayOf(objects).envFrom).toContainEqual({ configMapRef: { name: find(objects, 'ConfigMap').metadata.name } });
    expect(data).not.toHaveProperty('ADMIN_TOKEN');
  });

  it('exposes the port the service listens on, and the Service targets it', () => {
    const container = gatewayOf(objects);
    const port = loadAppConfig(configOf(objects)).port;
    expect(container.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
    const service = find(objects, 'Service').spec as { ports: Array<{ targetPort: string | number }> };
    expect(service.ports.map((p) => p.targetPort)).toEqual(['http']);
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) expect(probePort(container, probe)).toBe(port);
  });

  it('probes paths the running service answers: its startup, readiness and liveness routes', async () => {
    const container = gatewayOf(objects);
    expect([container.startupProbe, container.readinessProbe, container.livenessProbe].map((p) => p.httpGet.path)).toEqual([
      '/health/startup',
      '/health/ready',
      '/health/live',
    ]);
    // The service as the ConfigMap configures it, on a free loopback port instead.
    const service = await startTestService({ ...configOf(objects), HOST: '127.0.0.1', PORT: '0' });
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      expect((await service.fetch(probe.httpGet.path)).status, probe.httpGet.path).toBe(200);
    }
    service.lifecycle.beginDrain('test');
    expect((await service.fetch(container.readinessProbe.httpGet.path)).status).toBe(503);
    expect((await service.fetch(container.livenessProbe.httpGet.path)).status).toBe(200);
  });
});

describe('the overlays', () => {
  it('dev: one to two pods, debug logs, a short keep-alive, a PDB that lets a single pod be drained', () => {
    const { dev } = rendered;
    expect(dev.every((o) => o.metadata.namespace === 'reactive-connection-pool-dev')).toBe(true);
    expect(find(dev, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 1, maxReplicas: 2 });
    expect(find(dev, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
    expect(find(dev, 'PodDisruptionBudget').spec).not.toHaveProperty('minAvailable');
    expect(configOf(dev)).toMatchObject({ LOG_LEVEL: 'debug', LOG_FORMAT: 'text', POOL_KEEP_ALIVE: '10s', HOST: '0.0.0.0' });
    expect(gatewayOf(dev).image).toBe(`${pkg.name}:${pkg.version}`);
  });

  it('prod: the registry image, a real upstream, more pods, a longer drain covered by a longer grace period', () => {
    const { prod, base } = rendered;
    expect(prod.every((o) => o.metadata.namespace === 'reactive-connection-pool')).toBe(true);
    expect(gatewayOf(prod).image).toBe(`registry.example.com/platform/${pkg.name}:${pkg.version}`);
    expect(find(prod, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
    expect(find(prod, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 2 });
    expect(loadAppConfig(configOf(prod)).upstream?.url.protocol).toBe('http:');
    expect(configOf(prod).DRAIN_TIMEOUT).toBe('20s');
    // The patch merged into the container rather than replacing it: probes and security stay.
    const container = gatewayOf(prod);
    expect(container.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    expect(container.readinessProbe).toEqual(gatewayOf(base).readinessProbe);
    expect(container.securityContext).toEqual(gatewayOf(base).securityContext);
    expect(preStopSeconds(container)).toBe(10);
  });

  it('leave the base alone: each build starts from the files', () => {
    expect(configOf(rendered.base).LOG_LEVEL).toBe('info');
    expect(gatewayOf(rendered.base).image).toBe(`${pkg.name}:${pkg.version}`);
  });
});

describe("the test's kustomize", () => {
  it('merges lists by their merge key, deletes on null, and replaces lists without one', () => {
    const base = { spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'K', value: '1' }] }, { name: 'b', image: 'y' }], args: ['1', '2'], drop: 1 } };
    const patch = { spec: { containers: [{ name: 'a', env: [{ name: 'L', value: '2' }] }], args: ['3'], drop: null } };
    expect(strategicMerge(base, patch)).toEqual({
      spec: {
        containers: [
          { name: 'a', image: 'x', env: [{ name: 'K', value: '1' }, { name: 'L', value: '2' }] },
          { name: 'b', image: 'y' },
        ],
        args: ['3'],
      },
    });
  });

  it('catches what the OpenAPI schema lets through: an unknown field', () => {
    const deployment = structuredClone(find(rendered.base, 'Deployment'));
    const container = (deployment.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0] as Record<string, unknown>;
    container.readinesProbe = container.readinessProbe;
    expect(() => validateSchema(deployment)).not.toThrow();
    expect(unknownFields(deployment)).toEqual(['Deployment.spec.template.spec.containers[0].readinesProbe']);
    container.ports = [{ name: 'http', containerPort: 'three thousand' }];
    expect(() => validateSchema(deployment)).toThrow(/containerPort/);
  });
});
