// The Kubernetes manifests of deploy/kubernetes, read for the tests: every YAML document of every file,
// and the models (kubernetes-models) that validate them offline against the Kubernetes JSON schemas.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');
export const KUBERNETES_DIR = join(DEPLOY_DIR, 'kubernetes');

/** One YAML document of a manifest file. */
export interface Manifest {
  /** Relative to deploy/kubernetes. */
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

/** Every `.yaml` file under `dir`, depth first, sorted. */
export function yamlFiles(dir = KUBERNETES_DIR): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) files.push(path);
  }
  return files;
}

/** Parses a file's documents; a YAML error (or warning) throws, naming the file. */
export function readManifests(path: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { prettyErrors: true, strict: true });
  const file = relative(KUBERNETES_DIR, path);
  return docs.map((doc) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
    return { ...(doc.toJS() as Record<string, unknown>), file } as Manifest;
  });
}

export function allManifests(): Manifest[] {
  return yamlFiles().flatMap(readManifests);
}

/** The one manifest of `kind` named `name`. */
export function find<T = Manifest>(
  manifests: readonly Manifest[],
  kind: string,
  name?: string,
): T & Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0] as T & Manifest;
}

type Model = new (data: object) => { validate(): void };

/**
 * The model class of a resource, by apiVersion and kind: `apps/v1` `Deployment` is
 * `kubernetes-models/apps/v1/Deployment`; `v1` `Service` is `kubernetes-models/v1/Service`.
 */
export async function modelOf(apiVersion: string, kind: string): Promise<Model> {
  if (!/^([a-z0-9.]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z]+$/.test(kind))
    throw new Error(`not a Kubernetes apiVersion/kind: ${apiVersion} ${kind}`);
  const module = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, Model>;
  const model = module[kind];
  if (model === undefined) throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  return model;
}

// The parts of the manifests that the tests read.

export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: string | number };
  readonly periodSeconds?: number;
  readonly failureThreshold?: number;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly env?: {
    name: string;
    value?: string;
    valueFrom?: { resourceFieldRef?: { containerName?: string; resource: string; divisor?: string } };
  }[];
  readonly ports?: { name?: string; containerPort: number }[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly lifecycle?: { preStop?: { exec?: { command: string[] } } };
  readonly resources?: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
  };
  readonly volumeMounts?: { name: string; mountPath: string }[];
}

export interface DeploymentManifest {
  readonly spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds?: number;
        containers: Container[];
        volumes?: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}

export interface ServiceManifest {
  readonly spec: {
    clusterIP?: string;
    type?: string;
    selector: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: string | number }[];
  };
}

/** A Kubernetes CPU quantity (`2`, `1.5`, `500m`) in cores. */
export function cpuCores(quantity: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(quantity);
  if (match === null) throw new Error(`not a CPU quantity: ${quantity}`);
  return Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
}
