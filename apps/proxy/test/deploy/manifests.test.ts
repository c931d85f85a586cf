// deploy/kubernetes, offline: every manifest validated against the Kubernetes JSON schemas (the models of
// `kubernetes-models`, compiled from the Kubernetes OpenAPI schemas), the kustomization complete, and the
// proxy's Deployment, Service, ConfigMap and the echo example in agreement with the proxy's (and echo's)
// real option parsers: ports, probe paths, flags, the termination timings.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions as parseEchoOptions } from '../../../echo/src/options.js';
import { resolveConfig, type ProxyConfig } from '../../src/options.js';
import {
  allManifests,
  cpuCores,
  find,
  KUBERNETES_DIR,
  modelOf,
  yamlFiles,
  type Container,
  type DeploymentManifest,
  type Manifest,
  type ServiceManifest,
} from './manifests.js';

const manifests = allManifests();
const KUSTOMIZE = 'kustomize.config.k8s.io';
const resources = manifests.filter((m) => !m.apiVersion.startsWith(`${KUSTOMIZE}/`));
const kustomization = find<{ namespace: string; resources: string[]; components?: string[] }>(
  manifests,
  'Kustomization',
);
const namespace = kustomization.namespace;

const proxy = find<DeploymentManifest>(manifests, 'Deployment', 'roundguard-proxy');
const proxyPod = proxy.spec.template.spec;
const proxyContainer = proxyPod.containers.find((c) => c.name === 'proxy') as Container;
const echo = find<DeploymentManifest>(manifests, 'Deployment', 'echo');
const echoContainer = echo.spec.template.spec.containers[0] as Container;
const configMap = find<{ data: Record<string, string> }>(manifests, 'ConfigMap', 'roundguard-proxy-config');

function withoutFile(m: Manifest): object {
  const { file: _file, ...resource } = m;
  return resource;
}

function portNamed(container: Container, name: string): number {
  const port = container.ports?.find((p) => p.name === name);
  if (port === undefined) throw new Error(`container ${container.name} has no port named ${name}`);
  return port.containerPort;
}

/** What the kubelet gives the container for `env`: a resourceFieldRef of limits.cpu, divisor 1, rounds up. */
function containerEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.resourceFieldRef;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (ref?.resource === 'limits.cpu') {
      const limit = container.resources?.limits?.cpu;
      if (limit === undefined) throw new Error(`${e.name} reads limits.cpu, but the container sets none`);
      env[e.name] = String(Math.ceil(cpuCores(limit) / cpuCores(ref.divisor ?? '1')));
    } else throw new Error(`unexpected env ${e.name}`);
  }
  return env;
}

/**
 * The proxy's configuration inside the pod: its args and env resolved by the proxy's own parser, with
 * each ConfigMap volume's files written where the container mounts them (here: under a temp dir).
 */
function proxyConfigInPod(): ProxyConfig {
  const root = mkdtempSync(join(tmpdir(), 'roundguard-pod-'));
  const args = [...(proxyContainer.args ?? [])];
  for (const mount of proxyContainer.volumeMounts ?? []) {
    const volume = proxyPod.volumes?.find((v) => v.name === mount.name);
    const data = find<{ data: Record<string, string> }>(manifests, 'ConfigMap', volume?.configMap?.name).data;
    const dir = join(root, mount.mountPath);
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(data)) writeFileSync(join(dir, name), text);
    args.forEach((arg, i) => {
      if (arg.startsWith(`${mount.mountPath}/`)) args[i] = join(root, arg);
    });
  }
  return resolveConfig(args, containerEnv(proxyContainer));
}

const config = proxyConfigInPod();

describe('every manifest', () => {
  it('parses as YAML and validates against the Kubernetes schemas', async () => {
    expect(yamlFiles().length).toBeGreaterThanOrEqual(9);
    for (const m of resources) {
      const Model = await modelOf(m.apiVersion, m.kind);
      expect(() => new Model(withoutFile(m)).validate(), `${m.file} ${m.kind}`).not.toThrow();
    }
    expect(resources.map((m) => `${m.apiVersion} ${m.kind}`).sort()).toEqual([
      'apps/v1 Deployment',
      'apps/v1 Deployment',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'policy/v1 PodDisruptionBudget',
      'v1 ConfigMap',
      'v1 Namespace',
      'v1 Service',
      'v1 Service',
    ]);
  });

  it('is checked by a validator that refuses a bad one', async () => {
    const Model = await modelOf('apps/v1', 'Deployment');
    const broken = structuredClone(withoutFile(proxy)) as DeploymentManifest;
    (broken.spec.template.spec.containers[0]!.ports![0] as { containerPort: unknown }).containerPort = '8080';
    expect(() => new Model(broken).validate()).toThrow(/containerPort must be integer/);
  });

  it('is listed by the kustomization (the HPA by its optional component), and nothing else is', () => {
    const listed = [...kustomization.resources].sort();
    const files = yamlFiles()
      .map((f) => f.slice(KUBERNETES_DIR.length + 1))
      .filter((f) => !f.endsWith('kustomization.yaml') && !f.startsWith('hpa/'))
      .sort();
    expect(listed).toEqual(files);
    const component = find<{ resources: string[] }>(manifests, 'Component');
    expect(component.file).toBe('hpa/kustomization.yaml');
    expect(component.resources).toEqual(['hpa.yaml']);
    expect(find(manifests, 'Namespace').metadata?.name).toBe(namespace);
    // The namespace comes from the kustomization: no manifest pins another one.
    expect(resources.filter((m) => m.metadata?.namespace !== undefined)).toEqual([]);
  });
});

describe('the proxy Deployment', () => {
  it('runs 2+ replicas with resource requests and limits', () => {
    expect(proxy.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(proxy.spec.selector.matchLabels).toEqual(proxy.spec.template.metadata.labels);
    for (const kind of ['requests', 'limits'] as const) {
      expect(proxyContainer.resources?.[kind]?.cpu, kind).toBeDefined();
      expect(proxyContainer.resources?.[kind]?.memory, kind).toBeDefined();
    }
  });

  it('gives the proxy arguments and a config file that its own parser accepts', () => {
    expect(config.upstreamsSource).toBe('file');
    expect(config.logFormat).toBe('json');
  });

  it('takes --workers from the CPU limit', () => {
    const env = proxyContainer.env?.find((e) => e.name === 'ROUNDGUARD_WORKERS');
    expect(env?.valueFrom?.resourceFieldRef).toMatchObject({
      containerName: 'proxy',
      resource: 'limits.cpu',
    });
    expect(config.workers).toBe(Math.ceil(cpuCores(proxyContainer.resources!.limits!.cpu!)));
  });

  it('declares the ports the proxy listens on', () => {
    expect(portNamed(proxyContainer, 'http')).toBe(config.port);
    expect(portNamed(proxyContainer, 'admin')).toBe(config.adminPort);
    expect(config.host).toEqual(['0.0.0.0']);
    // The kubelet probes the pod's address: the admin server must listen on it, not on loopback.
    expect(config.adminHost).toBe('0.0.0.0');
  });

  it('probes readiness on /readyz and liveness on /healthz of the admin port', () => {
    expect(proxyContainer.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(proxyContainer.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'admin' });
  });

  it('sees a not-ready pod within the shutdown delay, and lets preStop, delay and drain end before the grace period', () => {
    const readiness = proxyContainer.readinessProbe!;
    const noticedWithinS = (readiness.periodSeconds ?? 10) * (readiness.failureThreshold ?? 3);
    expect(config.shutdownDelay).toBeGreaterThan(0);
    expect(noticedWithinS * 1000).toBeLessThan(config.shutdownDelay);

    const preStop = proxyContainer.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const preStopS = Number(preStop[1]);
    expect(preStopS).toBeGreaterThan(0);
    const grace = proxyPod.terminationGracePeriodSeconds ?? 30;
    expect(grace).toBeGreaterThan(preStopS + config.shutdownDelay / 1000 + config.drainTimeout / 1000);
  });
});

describe('the proxy Service', () => {
  const service = find<ServiceManifest>(manifests, 'Service', 'roundguard-proxy');

  it('selects the proxy pods and exposes the traffic port only, never the admin port', () => {
    expect(service.spec.selector).toEqual(proxy.spec.template.metadata.labels);
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
    for (const port of service.spec.ports) {
      expect(port.targetPort).not.toBe('admin');
      expect(port.targetPort).not.toBe(config.adminPort);
    }
  });

  it('is kept up by a PodDisruptionBudget and may be scaled by the optional HPA', () => {
    const pdb = find<{ spec: { minAvailable: number; selector: { matchLabels: object } } }>(
      manifests,
      'PodDisruptionBudget',
    );
    expect(pdb.spec.selector.matchLabels).toEqual(proxy.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(proxy.spec.replicas);
    const hpa = find<{ spec: { scaleTargetRef: object; minReplicas: number; maxReplicas: number } }>(
      manifests,
      'HorizontalPodAutoscaler',
    );
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'roundguard-proxy',
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
  });
});

describe('the echo example', () => {
  const headless = find<ServiceManifest>(manifests, 'Service', 'echo-headless');

  it('is discovered by the proxy through its headless Service', () => {
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.selector).toEqual(echo.spec.template.metadata.labels);
    const [port] = headless.spec.ports;
    expect(port?.targetPort).toBe('http');
    const url = `dns+http://echo-headless.${namespace}.svc.cluster.local:${port?.port}`;
    expect(config.upstreams.map((u) => u.url)).toEqual([url]);
    expect(JSON.parse(configMap.data['config.json']!)).toMatchObject({ upstreams: [{ url }] });
  });

  it('listens where the Service and its probes say, by echo’s own parser', () => {
    const parsed = parseEchoOptions(echoContainer.args ?? [], {}, false);
    if (parsed.help) throw new Error('echo args ask for help');
    expect(parsed.options.host).toBe('0.0.0.0');
    expect(portNamed(echoContainer, 'http')).toBe(parsed.options.port);
    expect(headless.spec.ports[0]?.port).toBe(parsed.options.port);
    expect(echoContainer.readinessProbe?.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(echoContainer.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(config.healthPath).toBe('/health');
  });
});

describe('the ConfigMap', () => {
  it('holds a config file the proxy accepts alone (with no flag but --config)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'roundguard-configmap-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, configMap.data['config.json']!);
    const fromFile = resolveConfig(['--config', file], {});
    expect(fromFile.upstreams.length).toBe(1);
    expect(fromFile.drainTimeout).toBe(config.drainTimeout);
  });
});
