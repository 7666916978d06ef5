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
import { join } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'
import { type K8sObject, type Manifest, ROOT, loadManifests } from './helpers/k8s-manifests.js'

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
if (validatorMissing) process.stdout.write(`# deploy-k8s-schema.test.ts: schema tests skipped: ${validatorMissing}\n`)

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
