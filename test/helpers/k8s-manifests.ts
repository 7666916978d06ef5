/** The k8s/ manifests, parsed and typed for the deployment tests (SPEC §8). */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { settingsSchema } from '../../src/config.js'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const K8S_DIR = join(ROOT, 'k8s')
export const NAMESPACE = 'nyro-develop'
export const SECRET_EXAMPLE = 'secret.example.yaml'
/** Never in the ConfigMap; the Secret may hold more (GATEWAY_EXTERNAL_ISSUERS with a shared secret). */
export const SECRET_KEYS = ['GATEWAY_JWT_SECRET', 'GATEWAY_POSTGRES_PASSWORD']
export const PLACEHOLDER = /^REPLACE_ME(_[A-Z0-9_]+)?$/
export const SEED_UPSTREAMS = {
  GATEWAY_INGEST_SERVICE_URL: 'http://ingest-api-service.nyro-develop.svc.cluster.local:80',
  GATEWAY_QUERY_SERVICE_URL: 'http://query-service.nyro-develop.svc.cluster.local:80',
}

// ---------------------------------------------------------------- manifests

export interface Metadata { name: string, namespace?: string, labels?: Record<string, string> }
export interface K8sObject { apiVersion: string, kind: string, metadata: Metadata, [field: string]: unknown }
export interface Manifest { file: string, object: K8sObject }

export interface HttpProbe { httpGet?: { path?: string, port?: number | string } }
export interface SecurityContext {
  runAsNonRoot?: boolean
  runAsUser?: number
  readOnlyRootFilesystem?: boolean
  allowPrivilegeEscalation?: boolean
  privileged?: boolean
  capabilities?: { drop?: string[], add?: string[] }
  seccompProfile?: { type?: string }
}
export interface Container {
  name: string
  image?: string
  ports?: Array<{ name?: string, containerPort: number }>
  env?: Array<{ name: string }>
  envFrom?: Array<{ configMapRef?: { name: string }, secretRef?: { name: string } }>
  livenessProbe?: HttpProbe
  readinessProbe?: HttpProbe
  startupProbe?: HttpProbe
  lifecycle?: { preStop?: { exec?: { command?: string[] }, sleep?: { seconds?: number } } }
  resources?: { requests?: Record<string, string | number>, limits?: Record<string, string | number> }
  securityContext?: SecurityContext
}
export interface PodSpec { terminationGracePeriodSeconds?: number, securityContext?: SecurityContext, containers: Container[] }
export interface Deployment extends K8sObject {
  spec: {
    replicas?: number
    selector: { matchLabels?: Record<string, string> }
    template: { metadata?: Metadata, spec: PodSpec }
  }
}

/** kubectl reads YAML 1.1 (an unquoted `yes` or `on` is a boolean there), so these files are read the same way. */
export function parseYaml (file: string): unknown[] {
  const text = readFileSync(join(K8S_DIR, file), 'utf8')
  return parseAllDocuments(text, { version: '1.1', uniqueKeys: true }).map((document) => {
    const problems = [...document.errors, ...document.warnings]
    if (problems.length > 0) throw new Error(`k8s/${file}: ${problems.map((problem) => problem.message).join('; ')}`)
    return document.toJS()
  }).filter((value) => value !== null)
}

export function manifestFiles (): string[] {
  return readdirSync(K8S_DIR).filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml').sort()
}

export function loadManifests (): Manifest[] {
  return manifestFiles().flatMap((file) => parseYaml(file).map((object) => ({ file, object: object as K8sObject })))
}

export function only<T extends K8sObject = K8sObject> (kind: string, options: { includeExample?: boolean } = {}): T {
  const found = loadManifests().filter(({ file, object }) => object.kind === kind && (options.includeExample || file !== SECRET_EXAMPLE))
  assert.equal(found.length, 1, `expected exactly one ${kind} in k8s/, found ${found.length}`)
  return found[0]!.object as T
}

/** ConfigMap data holds strings only (an unquoted 8080 or true in YAML is refused by the API server). */
export function configMapData (): Record<string, string> {
  const data = (only('ConfigMap').data ?? {}) as Record<string, unknown>
  const notStrings = Object.entries(data).filter(([, value]) => typeof value !== 'string').map(([key]) => key)
  assert.deepEqual(notStrings, [], 'ConfigMap values must be quoted strings')
  return data as Record<string, string>
}

export function secretExample (): K8sObject {
  return only('Secret', { includeExample: true })
}

export function gatewayContainer (): Container {
  const containers = only<Deployment>('Deployment').spec.template.spec.containers
  assert.equal(containers.length, 1, 'the gateway pod has one container')
  return containers[0]!
}

/** The drain bound: the ConfigMap's GATEWAY_SHUTDOWN_TIMEOUT, else the schema's own default. */
export function drainSeconds (): number {
  const shape = settingsSchema.shape.GATEWAY_SHUTDOWN_TIMEOUT
  const configured = configMapData().GATEWAY_SHUTDOWN_TIMEOUT
  return shape.parse(configured === '' ? undefined : configured)
}

export function preStopSleepSeconds (container: Container): number {
  const preStop = container.lifecycle?.preStop
  assert.ok(preStop, 'the container needs a preStop hook that waits for endpoints to drop the pod')
  if (preStop.sleep?.seconds !== undefined) return preStop.sleep.seconds
  const command = preStop.exec?.command ?? []
  assert.equal(command[0], 'sleep', `preStop should sleep, got ${JSON.stringify(command)}`)
  const seconds = Number(command[1])
  assert.ok(Number.isFinite(seconds), `preStop sleep needs a number of seconds, got ${JSON.stringify(command)}`)
  return seconds
}

// ---------------------------------------------------------------- schema validation
