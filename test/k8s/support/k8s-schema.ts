import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import ts from 'typescript';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { K8sObject } from './kustomize.js';

interface Model {
  validate(): void;
}

/** The kinds the manifests use: their model class (OpenAPI schema) and their TypeScript interface. */
const KINDS: Readonly<Record<string, { readonly model: new (data: never) => Model; readonly module: string; readonly type: string }>> = {
  'v1/ConfigMap': { model: ConfigMap as never, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Service': { model: Service as never, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'apps/v1/Deployment': { model: Deployment as never, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget as never, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler as never,
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor as never,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    type: 'IServiceMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule as never,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    type: 'IPrometheusRule',
  },
};

/**
 * Validates `object` against the Kubernetes OpenAPI schema of its kind (kubernetes-models, offline).
 *
 * @throws Error naming the object and what is wrong.
 */
export function validateSchema(object: K8sObject): void {
  const kind = KINDS[`${object.apiVersion}/${object.kind}`];
  if (kind === undefined) throw new Error(`${object.apiVersion} ${object.kind} is not a kind the manifests are expected to use`);
  try {
    new kind.model(object as never).validate();
  } catch (error) {
    throw new Error(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
  }
}

let checker: { checker: ts.TypeChecker; types: Map<string, ts.Type> } | undefined;

/**
 * The OpenAPI schemas accept fields they do not know, as a lenient API server would; `kubectl
 * apply` (strict field validation) does not. This walks each object along the TypeScript
 * interfaces of kubernetes-models (generated from the same OpenAPI document) and returns the
 * paths of fields that do not exist, e.g. a misspelt `readinesProbe`.
 */
export function unknownFields(object: K8sObject): string[] {
  const kind = KINDS[`${object.apiVersion}/${object.kind}`];
  if (kind === undefined) return [`${object.kind}: unknown kind`];
  checker ??= loadTypes();
  const type = checker.types.get(kind.type) as ts.Type;
  const found: string[] = [];
  walk(checker.checker, object, type, object.kind, found);
  return found;
}

function loadTypes(): { checker: ts.TypeChecker; types: Map<string, ts.Type> } {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const file = join(root, 'test', 'k8s', '__kubernetes-types__.ts');
  const source = Object.values(KINDS)
    .map((kind) => `export type { ${kind.type} } from '${kind.module}';`)
    .join('\n');
  const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const typeChecker = program.getTypeChecker();
  const module = typeChecker.getSymbolAtLocation(program.getSourceFile(file) as ts.SourceFile);
  const types = new Map<string, ts.Type>();
  for (const symbol of typeChecker.getExportsOfModule(module as ts.Symbol)) {
    types.set(symbol.getName(), typeChecker.getDeclaredTypeOfSymbol(typeChecker.getAliasedSymbol(symbol)));
  }
  if (types.size !== Object.keys(KINDS).length) throw new Error('Could not load the kubernetes-models interfaces');
  return { checker: typeChecker, types };
}

function walk(checker: ts.TypeChecker, value: unknown, type: ts.Type, path: string, found: string[]): void {
  const candidates = (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
  if (Array.isArray(value)) {
    const arrayType = candidates.find((t) => checker.isArrayType(t));
    const element = arrayType === undefined ? undefined : checker.getTypeArguments(arrayType as ts.TypeReference)[0];
    if (element !== undefined) value.forEach((item, index) => walk(checker, item, element, `${path}[${index}]`, found));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const objectType = candidates.find((t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t));
  if (objectType === undefined) return;
  const indexType = objectType.getStringIndexType();
  for (const [key, child] of Object.entries(value)) {
    const property = objectType.getProperty(key);
    if (property !== undefined) walk(checker, child, checker.getTypeOfSymbol(property), `${path}.${key}`, found);
    else if (indexType !== undefined) walk(checker, child, indexType, `${path}.${key}`, found);
    else found.push(`${path}.${key}`);
  }
}
