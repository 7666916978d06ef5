/**
 * The deployment files (Dockerfile, .dockerignore, k8s/) checked offline, as CI runs them (SPEC §8).
 *
 * Schema validation uses `kubernetes-models` (a devDependency), which ships the Kubernetes OpenAPI
 * schemas inside the package in two forms:
 *  - compiled JSON-schema validators (`Model#validate()`): types, required fields, formats, enums;
 *  - TypeScript declarations of every object: compiled here against each manifest with the project's
 *    own `typescript`, so excess-property checks reject unknown (misspelt) fields at any depth — the
 *    `strict` mode of kubeconform, which the JSON schemas alone do not give.
 * Without the package, those tests skip and say why; every other check still runs.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { parseAllDocuments } from 'yaml'
import { ConfigError, loadConfig, settingsSchema } from '../src/config.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const K8S_DIR = join(ROOT, 'k8s')
const NAMESPACE = 'nyro-develop'
const SECRET_EXAMPLE = 'secret.example.yaml'
/** Never in the ConfigMap; the Secret may hold more (GATEWAY_EXTERNAL_ISSUERS with a shared secret). */
const SECRET_KEYS = ['GATEWAY_JWT_SECRET', 'GATEWAY_POSTGRES_PASSWORD']
const PLACEHOLDER = /^REPLACE_ME(_[A-Z0-9_]+)?$/
const SEED_UPSTREAMS = {
  GATEWAY_INGEST_SERVICE_URL: 'http://ingest-api-service.nyro-develop.svc.cluster.local:80',
  GATEWAY_QUERY_SERVICE_URL: 'http://query-service.nyro-develop.svc.cluster.local:80',
}

// ---------------------------------------------------------------- manifests

interface Metadata { name: string, namespace?: string, labels?: Record<string, string> }
interface K8sObject { apiVersion: string, kind: string, metadata: Metadata, [field: string]: unknown }
interface Manifest { file: string, object: K8sObject }

interface HttpProbe { httpGet?: { path?: string, port?: number | string } }
interface SecurityContext {
  runAsNonRoot?: boolean
  runAsUser?: number
  readOnlyRootFilesystem?: boolean
  allowPrivilegeEscalation?: boolean
  privileged?: boolean
  capabilities?: { drop?: string[], add?: string[] }
  seccompProfile?: { type?: string }
}
interface Container {
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
interface PodSpec { terminationGracePeriodSeconds?: number, securityContext?: SecurityContext, containers: Container[] }
interface Deployment extends K8sObject {
  spec: {
    replicas?: number
    selector: { matchLabels?: Record<string, string> }
    template: { metadata?: Metadata, spec: PodSpec }
  }
}

/** kubectl reads YAML 1.1 (an unquoted `yes` or `on` is a boolean there), so these files are read the same way. */
function parseYaml (file: string): unknown[] {
  const text = readFileSync(join(K8S_DIR, file), 'utf8')
  return parseAllDocuments(text, { version: '1.1', uniqueKeys: true }).map((document) => {
    const problems = [...document.errors, ...document.warnings]
    if (problems.length > 0) throw new Error(`k8s/${file}: ${problems.map((problem) => problem.message).join('; ')}`)
    return document.toJS()
  }).filter((value) => value !== null)
}

function manifestFiles (): string[] {
  return readdirSync(K8S_DIR).filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml').sort()
}

function loadManifests (): Manifest[] {
  return manifestFiles().flatMap((file) => parseYaml(file).map((object) => ({ file, object: object as K8sObject })))
}

function only<T extends K8sObject = K8sObject> (kind: string, options: { includeExample?: boolean } = {}): T {
  const found = loadManifests().filter(({ file, object }) => object.kind === kind && (options.includeExample || file !== SECRET_EXAMPLE))
  assert.equal(found.length, 1, `expected exactly one ${kind} in k8s/, found ${found.length}`)
  return found[0]!.object as T
}

/** ConfigMap data holds strings only (an unquoted 8080 or true in YAML is refused by the API server). */
function configMapData (): Record<string, string> {
  const data = (only('ConfigMap').data ?? {}) as Record<string, unknown>
  const notStrings = Object.entries(data).filter(([, value]) => typeof value !== 'string').map(([key]) => key)
  assert.deepEqual(notStrings, [], 'ConfigMap values must be quoted strings')
  return data as Record<string, string>
}

function secretExample (): K8sObject {
  return only('Secret', { includeExample: true })
}

function gatewayContainer (): Container {
  const containers = only<Deployment>('Deployment').spec.template.spec.containers
  assert.equal(containers.length, 1, 'the gateway pod has one container')
  return containers[0]!
}

/** The drain bound: the ConfigMap's GATEWAY_SHUTDOWN_TIMEOUT, else the schema's own default. */
function drainSeconds (): number {
  const shape = settingsSchema.shape.GATEWAY_SHUTDOWN_TIMEOUT
  const configured = configMapData().GATEWAY_SHUTDOWN_TIMEOUT
  return shape.parse(configured === '' ? undefined : configured)
}

function preStopSleepSeconds (container: Container): number {
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

interface ModelClass { new (data: unknown): { validate: () => void } }
const VALIDATOR_PACKAGE = 'kubernetes-models'

/** The module of a built-in kind: kubernetes-models/<group>/<version>/<Kind> (core group: v1/<Kind>). */
function modelPath (apiVersion: string, kind: string): string {
  return `${VALIDATOR_PACKAGE}/${apiVersion}/${kind}`
}

async function loadModel (apiVersion: string, kind: string): Promise<ModelClass> {
  const module = await import(modelPath(apiVersion, kind)) as Record<string, ModelClass | undefined>
  const model = module[kind]
  if (!model) throw new Error(`${modelPath(apiVersion, kind)} exports no ${kind}`)
  return model
}

const validatorMissing: string | undefined = await import(modelPath('v1', 'ConfigMap')).then(
  () => undefined,
  (error: unknown) => `${VALIDATOR_PACKAGE} is not installed (${(error as Error).message.split('\n')[0]}): ` +
    'add it to devDependencies to validate k8s/ against the Kubernetes schemas'
)
if (validatorMissing) process.stdout.write(`# deploy.test.ts: schema tests skipped: ${validatorMissing}\n`)

async function schemaErrors (object: K8sObject): Promise<string | undefined> {
  try {
    new (await loadModel(object.apiVersion, object.kind))(object).validate()
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

/**
 * Type-checks each object as a literal of its model's interface: an unknown field is an excess-property error.
 * TypeScript reports the first problem of each object; fix it and run again to see the next.
 */
function strictErrors (manifests: readonly Manifest[]): string[] {
  const file = join(ROOT, 'test', '__k8s_manifests_strict__.ts')
  const lines = manifests.map(({ object }, index) => `import type { I${object.kind} as T${index} } from '${modelPath(object.apiVersion, object.kind)}'`)
  const owners: Array<{ from: number, label: string }> = []
  manifests.forEach(({ file: source, object }, index) => {
    owners.push({ from: lines.length, label: `k8s/${source} (${object.kind} ${object.metadata?.name})` })
    lines.push(...`export const m${index}: T${index} = ${JSON.stringify(object, null, 2)}`.split('\n'))
  })
  const text = lines.join('\n')
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  }
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists, readFile } = host
  host.getSourceFile = (name, language, ...rest) => name === file ? ts.createSourceFile(name, text, language) : getSourceFile.call(host, name, language, ...rest)
  host.fileExists = (name) => name === file || fileExists.call(host, name)
  host.readFile = (name) => name === file ? text : readFile.call(host, name)
  const program = ts.createProgram([file], options, host)
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((diagnostic) => {
    const line = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : 0
    const owner = owners.findLast(({ from }) => from <= line)
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n').at(-1)
    return `${owner?.label ?? 'k8s/'}: ${message} (at ${lines[line]?.trim()})`
  })
}

/** A minimal valid Deployment, independent of k8s/, broken one way per check. */
function brokenDeployment (mutate: (spec: Record<string, unknown>, container: Record<string, unknown>) => void): Manifest {
  const container: Record<string, unknown> = { name: 'app', image: 'example/app:1.0.0' }
  const spec: Record<string, unknown> = {
    replicas: 2,
    selector: { matchLabels: { app: 'x' } },
    template: { metadata: { labels: { app: 'x' } }, spec: { containers: [container] } },
  }
  mutate(spec, container)
  return { file: 'fixture', object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec } }
}

const skipSchema = validatorMissing ? { skip: validatorMissing } : {}

test('the schema validator rejects broken manifests (it is not a no-op)', skipSchema, async () => {
  const valid = brokenDeployment(() => {})
  assert.equal(await schemaErrors(valid.object), undefined)
  assert.deepEqual(strictErrors([valid]), [])
  const wrongType = brokenDeployment((spec) => { spec.replicas = 'two' })
  assert.match(await schemaErrors(wrongType.object) ?? 'accepted', /replicas must be integer/)
  const misspelt = brokenDeployment((spec) => { spec.replica = 2 })
  assert.equal(await schemaErrors(misspelt.object), undefined, 'the JSON schemas alone allow unknown fields')
  assert.match(strictErrors([misspelt]).join('\n'), /'"replica"' does not exist in type/)
  const deep = brokenDeployment((_spec, container) => { container.securityContext = { readOnlyRootFilesytem: true } })
  assert.match(strictErrors([deep]).join('\n'), /readOnlyRootFilesytem/)
})

test('every manifest in k8s/ is valid against the Kubernetes schemas', skipSchema, async () => {
  const manifests = loadManifests()
  assert.ok(manifests.length >= 6, `expected the gateway's manifests in k8s/, found ${manifests.length}`)
  const errors: string[] = []
  for (const { file, object } of manifests) {
    const problem = await schemaErrors(object)
    if (problem) errors.push(`k8s/${file} (${object.kind}): ${problem}`)
  }
  assert.deepEqual(errors, [])
})

test('no manifest in k8s/ has an unknown field (strict)', skipSchema, () => {
  assert.deepEqual(strictErrors(loadManifests()), [])
})

// ---------------------------------------------------------------- layout

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

// ---------------------------------------------------------------- the image

interface Instruction { keyword: string, args: string }

/** The Dockerfile's instructions, continuation lines joined, comments and parser directives dropped, split by FROM. */
function dockerfileStages (): Instruction[][] {
  const logical = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n').replace(/\\\n/g, ' ')
    .split('\n').map((line) => line.trim()).filter(Boolean)
  const stages: Instruction[][] = []
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const instruction = { keyword: keyword.toUpperCase(), args }
    if (instruction.keyword === 'FROM') stages.push([])
    stages.at(-1)?.push(instruction)
  }
  return stages
}

function runtimeStage (): Instruction[] {
  const stages = dockerfileStages()
  assert.ok(stages.length >= 2, 'a multi-stage Dockerfile')
  return stages.at(-1)!
}

const argsOf = (stage: Instruction[], keyword: string): string[] => stage.filter((i) => i.keyword === keyword).map((i) => i.args)

test('Dockerfile: the runtime stage runs as a non-root user', () => {
  const users = argsOf(runtimeStage(), 'USER')
  assert.ok(users.length > 0, 'the runtime stage sets USER')
  const user = users.at(-1)!
  assert.doesNotMatch(user, /^(root|0)(:|$)/, `USER ${user} is root`)
  // A numeric uid lets the kubelet verify runAsNonRoot without reading the image's passwd.
  assert.match(user, /^\d+(:\d+)?$/, `USER ${user}: use a numeric uid[:gid]`)
  const runAsUser = only<Deployment>('Deployment').spec.template.spec.securityContext?.runAsUser
  if (runAsUser !== undefined) assert.equal(Number(user.split(':')[0]), runAsUser, 'the pod runs as the image user')
})

test('Dockerfile: HEALTHCHECK probes /health/live with node', () => {
  const [healthcheck, ...more] = argsOf(runtimeStage(), 'HEALTHCHECK')
  assert.ok(healthcheck, 'the runtime stage has a HEALTHCHECK')
  assert.equal(more.length, 0, 'one HEALTHCHECK')
  assert.match(healthcheck, /\bCMD\b.*\/health\/live/)
  assert.doesNotMatch(healthcheck, /\b(curl|wget)\b/, 'slim images have no curl or wget')
})

test('Dockerfile: npm ci in the build stage, npm ci --omit=dev in the runtime stage', () => {
  const stages = dockerfileStages()
  const build = stages.slice(0, -1).flatMap((stage) => argsOf(stage, 'RUN')).join('\n')
  assert.match(build, /\bnpm ci\b/)
  assert.match(build, /\bnpm run build\b/)
  const runtime = argsOf(runtimeStage(), 'RUN')
  const installs = runtime.flatMap((command) => command.split(/&&|;/)).filter((command) => /\bnpm (ci|install|i)\b/.test(command))
  assert.ok(installs.length > 0, 'the runtime stage installs its dependencies')
  for (const install of installs) assert.match(install, /\bnpm ci\b.*--omit=dev\b/, `runtime install must be npm ci --omit=dev: ${install.trim()}`)
})

test('Dockerfile: port, environment, signals and the command match the package', () => {
  const stage = runtimeStage()
  assert.ok(argsOf(stage, 'EXPOSE').some((ports) => ports.split(/\s+/).includes('8080')), 'EXPOSE 8080')
  const env = argsOf(stage, 'ENV').join(' ')
  assert.match(env, /\bPORT=8080\b/)
  assert.match(env, /\bNODE_ENV=production\b/)
  assert.deepEqual(argsOf(stage, 'STOPSIGNAL'), ['SIGTERM'])
  assert.match(argsOf(stage, 'ENTRYPOINT').join(' '), /tini/, 'tini is PID 1')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
  const cmd = JSON.parse(argsOf(stage, 'CMD').at(-1) ?? '[]') as string[]
  assert.deepEqual(cmd, ['node', pkg.bin['atenex-gateway'], 'serve'])
})

/** Docker's rule, simplified to what .dockerignore uses here: the last matching line wins, `!` re-includes. */
function ignoredByDocker (rules: readonly string[], path: string): boolean {
  let ignored = false
  for (const rule of rules) {
    const negated = rule.startsWith('!')
    const pattern = rule.replace(/^!/, '').replace(/^\/|\/$/g, '')
    const matches = pattern === '*' || pattern === '**' || path === pattern || path.startsWith(`${pattern}/`)
    if (matches) ignored = !negated
  }
  return ignored
}

test('.dockerignore keeps secrets and local state out and lets every COPY source in', () => {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
  for (const path of ['.env', '.git', 'node_modules', 'dist', '.data/pglite', 'test-output']) {
    assert.ok(ignoredByDocker(rules, path), `.dockerignore must exclude ${path}`)
  }
  const sources = dockerfileStages().flat()
    .filter(({ keyword, args }) => (keyword === 'COPY' || keyword === 'ADD') && !args.includes('--from='))
    .flatMap(({ args }) => args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1))
  assert.ok(sources.length > 0)
  for (const source of sources) assert.ok(!ignoredByDocker(rules, source.replace(/^\.\//, '')), `.dockerignore hides COPY source ${source}`)
})
