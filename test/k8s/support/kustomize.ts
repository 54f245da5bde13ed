import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from YAML. */
export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** The kustomization fields this minimal builder implements; any other fails the build. */
const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'components', 'configMapGenerator', 'namespace', 'images', 'patches']);

/**
 * Strategic merge keys of the lists the manifests patch (as Kubernetes' own patch strategy
 * declares them); any other list is replaced whole, as for fields without a merge key.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  envFrom: 'configMapRef',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
};

/** Kinds that live in no namespace. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass']);

/** Every document of a YAML file, failing on any parse error or warning. */
export function readYamlDocuments(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true, strict: true, uniqueKeys: true });
  return documents.map((document) => {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
    return document.toJS({ maxAliasCount: 0 }) as unknown;
  }).filter((value) => value !== null);
}

/**
 * `kustomize build <dir>` for the subset of kustomize these manifests use: `resources` (files
 * and directories), `components`, `configMapGenerator` (from files, without a name hash),
 * `namespace`, `images` and `patches` (strategic merge patches given by `path`, their target
 * named by their own kind and name). Anything else makes it fail rather than render
 * something kustomize would not.
 */
export function kustomizeBuild(dir: string, expectedKind: 'Kustomization' | 'Component' = 'Kustomization'): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  const [kustomization] = readYamlDocuments(file) as Array<Record<string, unknown>>;
  if (kustomization === undefined) throw new Error(`${file} is empty`);
  for (const key of Object.keys(kustomization)) {
    if (!SUPPORTED.has(key)) throw new Error(`${file}: "${key}" is not supported by the test's kustomize (supported: ${[...SUPPORTED].join(', ')})`);
  }
  const apiVersion = expectedKind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  if (kustomization.apiVersion !== apiVersion || kustomization.kind !== expectedKind) {
    throw new Error(`${file}: expected apiVersion ${apiVersion} and kind ${expectedKind}`);
  }

  const objects: K8sObject[] = [];
  for (const resource of (kustomization.resources as string[] | undefined) ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) objects.push(...kustomizeBuild(path));
    else objects.push(...(readYamlDocuments(path) as K8sObject[]));
  }
  objects.push(...generateConfigMaps(file, dir, kustomization.configMapGenerator));
  // Components add their objects after the resources; this kustomization's own transformers
  // (namespace, images, patches) then apply to them too.
  for (const component of (kustomization.components as string[] | undefined) ?? []) objects.push(...kustomizeBuild(join(dir, component), 'Component'));

  for (const patch of (kustomization.patches as Array<Record<string, unknown>> | undefined) ?? []) {
    if (Object.keys(patch).join() !== 'path') throw new Error(`${file}: only patches given by "path" are supported`);
    for (const document of readYamlDocuments(join(dir, patch.path as string)) as K8sObject[]) {
      const target = objects.find((o) => o.kind === document.kind && o.apiVersion === document.apiVersion && o.metadata.name === document.metadata.name);
      if (target === undefined) throw new Error(`${file}: patch ${patch.path as string} targets ${document.kind}/${document.metadata.name}, which is not among the resources`);
      objects.splice(objects.indexOf(target), 1, strategicMerge(target, document) as K8sObject);
    }
  }

  for (const image of (kustomization.images as Array<{ name: string; newName?: string; newTag?: string }> | undefined) ?? []) {
    let used = false;
    for (const container of containersOf(objects)) {
      const [name, tag] = splitImage(container.image as string);
      if (name !== image.name) continue;
      used = true;
      container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
    if (!used) throw new Error(`${file}: images entry "${image.name}" matches no container`);
  }

  const namespace = kustomization.namespace as string | undefined;
  if (namespace !== undefined) {
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata = { ...object.metadata, namespace };
  }
  return objects;
}

interface ConfigMapGenerator {
  name: string;
  files?: string[];
  options?: { disableNameSuffixHash?: boolean; labels?: Record<string, string> };
}

/** ConfigMaps of `configMapGenerator`: one key per file (its base name), as kustomize makes them without a hash suffix. */
function generateConfigMaps(file: string, dir: string, generators: unknown): K8sObject[] {
  return ((generators as ConfigMapGenerator[] | undefined) ?? []).map((generator) => {
    const keys = Object.keys(generator).sort().join();
    if (!['files,name', 'files,name,options'].includes(keys)) throw new Error(`${file}: only configMapGenerator entries with name, files and options are supported`);
    if (generator.options?.disableNameSuffixHash !== true) throw new Error(`${file}: configMapGenerator ${generator.name} needs options.disableNameSuffixHash: true (the test's kustomize adds no hash)`);
    const data = Object.fromEntries((generator.files ?? []).map((path) => [basename(path), readFileSync(join(dir, path), 'utf8')]));
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name, ...(generator.options.labels ? { labels: { ...generator.options.labels } } : {}) }, data };
  });
}

/** The containers of every workload among `objects` (mutable, in place). */
export function containersOf(objects: readonly K8sObject[]): Array<Record<string, unknown>> {
  return objects.flatMap((object) => {
    const spec = (object.spec as { template?: { spec?: { containers?: Array<Record<string, unknown>> } } } | undefined)?.template?.spec;
    return spec?.containers ?? [];
  });
}

function splitImage(image: string): [string, string] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, 'latest'];
}

/**
 * A strategic merge patch (the subset kustomize applies for these manifests): maps merge
 * recursively, `null` deletes a key, lists with a merge key merge item by item, other lists
 * are replaced.
 */
export function strategicMerge(base: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field];
    if (key === undefined || !Array.isArray(base)) return structuredClone(patch);
    const merged = structuredClone(base) as Array<Record<string, unknown>>;
    for (const item of patch as Array<Record<string, unknown>>) {
      const index = merged.findIndex((existing) => JSON.stringify(existing[key]) === JSON.stringify(item[key]));
      if (index === -1) merged.push(structuredClone(item));
      else merged[index] = strategicMerge(merged[index], item) as Record<string, unknown>;
    }
    return merged;
  }
  if (isObject(patch) && isObject(base)) {
    const merged: Record<string, unknown> = structuredClone(base);
    for (const [name, value] of Object.entries(patch)) {
      if (value === null) delete merged[name];
      else merged[name] = strategicMerge(merged[name], value, name);
    }
    return merged;
  }
  return structuredClone(patch);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The directory of this repository's `k8s/`. */
export const K8S_DIR = fileURLToPath(new URL('../../../k8s/', import.meta.url));
