/** The k8s/ manifests checked offline, as CI runs them (SPEC §8): layout, settings, probes, drain, hardening. */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadConfig, settingsSchema } from '../src/config.js'
import { type Deployment, K8S_DIR, type K8sObject, NAMESPACE, PLACEHOLDER, SECRET_EXAMPLE, SECRET_KEYS, SEED_UPSTREAMS, configMapData, drainSeconds, gatewayContainer, loadManifests, manifestFiles, only, parseYaml, preStopSleepSeconds, secretExample } from './helpers/k8s-manifests.js'

test('every object lives in nyro-develop and kustomization.yaml lists all but the Secret example', () => {
  const kinds = loadManifests().map(({ file, object }) => {
    assert.equal(object.metadata?.namespace, NAMESPACE, `k8s/${file}: metadata.namespace`)
    return object.kind
  })
  for (const kind of ['ConfigMap', 'Secret', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']) {
    assert.ok(kinds.includes(kind), `k8s/ needs a ${kind}`)
  }
  const [kustomization] = parseYaml('kustomization.yaml') as Array<{ kind?: string, namespace?: string, resources?: string[] }>
  assert.equal(kustomization?.kind, 'Kustomization')
  assert.equal(kustomization.namespace, NAMESPACE)
  const resources = [...(kustomization.resources ?? [])].sort()
  for (const resource of resources) assert.ok(existsSync(join(K8S_DIR, resource)), `kustomization.yaml lists a missing ${resource}`)
  // Applying the example would overwrite the real Secret with placeholders.
  assert.deepEqual(resources, manifestFiles().filter((file) => file !== SECRET_EXAMPLE))
})

// ---------------------------------------------------------------- configuration

test('the ConfigMap and the Secret set only settings of settingsSchema, secrets only in the Secret', () => {
  const known = new Set(Object.keys(settingsSchema.shape))
  const configKeys = Object.keys(configMapData())
  const secretKeys = Object.keys({ ...(secretExample().data ?? {}), ...(secretExample().stringData ?? {}) })
  assert.deepEqual(configKeys.filter((key) => !known.has(key)), [], 'ConfigMap keys unknown to settingsSchema')
  assert.deepEqual(secretKeys.filter((key) => !known.has(key)), [], 'Secret keys unknown to settingsSchema')
  assert.deepEqual(configKeys.filter((key) => SECRET_KEYS.includes(key)), [], 'secrets must not be in the ConfigMap')
  assert.deepEqual(SECRET_KEYS.filter((key) => !secretKeys.includes(key)), [], 'the Secret example shows every secret')
  const envNames = (gatewayContainer().env ?? []).map(({ name }) => name)
  assert.deepEqual(envNames.filter((name) => !known.has(name) && !name.startsWith('NODE_')), [], 'container env unknown to settingsSchema')
})

test('the ConfigMap holds valid settings: PostgreSQL mode and the seeds\' in-cluster upstreams', () => {
  const data = configMapData()
  // As the gateway reads its environment: an empty variable counts as unset.
  const env = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== ''))
  const parsed = settingsSchema.safeParse(env)
  assert.ok(parsed.success, `settingsSchema rejects the ConfigMap: ${parsed.error?.message}`)
  assert.deepEqual({ GATEWAY_INGEST_SERVICE_URL: parsed.data.GATEWAY_INGEST_SERVICE_URL, GATEWAY_QUERY_SERVICE_URL: parsed.data.GATEWAY_QUERY_SERVICE_URL }, SEED_UPSTREAMS)
  assert.match(parsed.data.GATEWAY_POSTGRES_SERVER ?? '', /\S/, 'k8s runs on PostgreSQL (read-only root filesystem, no embedded database)')
  assert.equal(parsed.data.PORT, gatewayContainer().ports?.[0]?.containerPort, 'PORT is the container port')
  const secret = randomBytes(48).toString('base64')
  assert.doesNotThrow(() => loadConfig({ ...data, GATEWAY_JWT_SECRET: secret, GATEWAY_POSTGRES_PASSWORD: 'x' }))
})

test('the Secret example holds placeholders only, and the gateway refuses to start on them', () => {
  const secret = secretExample()
  const encoded = Object.values((secret.data ?? {}) as Record<string, string>).map((value) => Buffer.from(value, 'base64').toString('utf8'))
  const values = [...Object.values((secret.stringData ?? {}) as Record<string, unknown>), ...encoded]
  assert.ok(values.length > 0, 'the example shows the keys the Deployment expects')
  for (const value of values) assert.match(String(value), PLACEHOLDER, 'a Secret example must hold placeholders, never real values')
  const env: Record<string, string> = { ...configMapData(), ...(secret.stringData as Record<string, string>) }
  assert.throws(() => loadConfig(env), ConfigError)
})

// ---------------------------------------------------------------- the Deployment

test('terminationGracePeriodSeconds exceeds the preStop sleep plus the drain bound', () => {
  const grace = only<Deployment>('Deployment').spec.template.spec.terminationGracePeriodSeconds ?? 30
  const preStop = preStopSleepSeconds(gatewayContainer())
  assert.ok(preStop > 0 && preStop <= 15, `preStop sleep of ${preStop} s: a few seconds for endpoints to drop the pod`)
  assert.ok(grace > preStop + drainSeconds(), `terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop} s + drain ${drainSeconds()} s`)
})

test('probes: liveness on /health/live, readiness on /health/ready, on the gateway port', () => {
  const container = gatewayContainer()
  const portNames = new Map((container.ports ?? []).map(({ name, containerPort }) => [name ?? '', containerPort]))
  const probe = (name: 'livenessProbe' | 'readinessProbe' | 'startupProbe'): { path?: string, port?: number } => {
    const httpGet = container[name]?.httpGet
    const port = typeof httpGet?.port === 'string' ? portNames.get(httpGet.port) : httpGet?.port
    return { path: httpGet?.path, port }
  }
  const port = Number(configMapData().PORT ?? 8080)
  assert.deepEqual(probe('livenessProbe'), { path: '/health/live', port })
  assert.deepEqual(probe('readinessProbe'), { path: '/health/ready', port })
  if (container.startupProbe) assert.deepEqual(probe('startupProbe'), { path: '/health/live', port })
})

test('Prometheus scrapes GATEWAY_METRICS_PORT, which the Service does not expose (no /metrics on the public port)', () => {
  const metricsPort = Number(configMapData().GATEWAY_METRICS_PORT)
  assert.ok(Number.isInteger(metricsPort) && metricsPort !== Number(configMapData().PORT ?? 8080), 'a metrics port of its own')
  const annotations = (only<Deployment>('Deployment').spec.template.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {}
  assert.equal(annotations['prometheus.io/port'], String(metricsPort))
  assert.ok((gatewayContainer().ports ?? []).some(({ containerPort }) => containerPort === metricsPort), 'declared on the container')
  const service = only<K8sObject & { spec: { ports: { port: number, targetPort?: number | string }[] } }>('Service')
  assert.ok(service.spec.ports.every(({ port, targetPort }) => port !== metricsPort && targetPort !== metricsPort && targetPort !== 'metrics'), 'not exposed by the Service')
})

test('the ConfigMap trusts exactly the one proxy hop of the ingress controller', () => {
  assert.equal(configMapData().GATEWAY_TRUST_PROXY, '1')
})

test('the pod is hardened, sized and fed from the ConfigMap and the Secret', () => {
  const deployment = only<Deployment>('Deployment')
  const pod = deployment.spec.template.spec.securityContext ?? {}
  const container = gatewayContainer()
  const context = container.securityContext ?? {}
  assert.ok((deployment.spec.replicas ?? 1) >= 2, 'at least 2 replicas')
  assert.equal(context.runAsNonRoot ?? pod.runAsNonRoot, true, 'runAsNonRoot')
  assert.notEqual(context.runAsUser ?? pod.runAsUser, 0, 'runAsUser must not be root')
  assert.equal(context.readOnlyRootFilesystem, true, 'readOnlyRootFilesystem')
  assert.equal(context.allowPrivilegeEscalation, false, 'allowPrivilegeEscalation')
  assert.notEqual(context.privileged, true, 'privileged')
  assert.deepEqual(context.capabilities?.drop, ['ALL'])
  assert.deepEqual(context.capabilities?.add ?? [], [])
  assert.equal(context.seccompProfile?.type ?? pod.seccompProfile?.type, 'RuntimeDefault')
  for (const side of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) assert.ok(container.resources?.[side]?.[resource], `resources.${side}.${resource}`)
  }
  assert.doesNotMatch(container.image ?? '', /:latest$|^[^:]+$/, 'a pinned image tag, not latest')
  assert.deepEqual(container.envFrom?.map((source) => source.configMapRef?.name ?? source.secretRef?.name),
    [only('ConfigMap').metadata.name, secretExample().metadata.name])
})

test('the Service, HPA and PDB select the gateway pods', () => {
  const deployment = only<Deployment>('Deployment')
  const podLabels = deployment.spec.template.metadata?.labels ?? {}
  const selects = (selector: Record<string, string> | undefined): boolean =>
    Object.keys(selector ?? {}).length > 0 && Object.entries(selector ?? {}).every(([key, value]) => podLabels[key] === value)
  assert.ok(selects(deployment.spec.selector.matchLabels), 'the Deployment selects its own pods')
  const service = only('Service').spec as { selector?: Record<string, string>, ports: Array<{ targetPort?: string | number }> }
  assert.ok(selects(service.selector), 'the Service selects the gateway pods')
  const ports = gatewayContainer().ports ?? []
  for (const { targetPort } of service.ports) {
    assert.ok(ports.some(({ name, containerPort }) => targetPort === name || targetPort === containerPort), `Service targetPort ${targetPort}`)
  }
  const hpa = only('HorizontalPodAutoscaler')
  assert.equal(hpa.apiVersion, 'autoscaling/v2')
  const hpaSpec = hpa.spec as { scaleTargetRef: { kind: string, name: string }, minReplicas?: number, metrics?: Array<{ resource?: { name: string } }> }
  assert.deepEqual({ kind: hpaSpec.scaleTargetRef.kind, name: hpaSpec.scaleTargetRef.name }, { kind: 'Deployment', name: deployment.metadata.name })
  assert.ok(hpaSpec.metrics?.some((metric) => metric.resource?.name === 'cpu'), 'the HPA scales on CPU')
  const pdb = only('PodDisruptionBudget')
  assert.equal(pdb.apiVersion, 'policy/v1')
  const pdbSpec = pdb.spec as { minAvailable?: number, selector: { matchLabels?: Record<string, string> } }
  assert.equal(pdbSpec.minAvailable, 1)
  assert.ok(selects(pdbSpec.selector.matchLabels), 'the PDB selects the gateway pods')
  assert.ok((hpaSpec.minReplicas ?? 1) > pdbSpec.minAvailable, 'the PDB must leave room for node drains')
})
