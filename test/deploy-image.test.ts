/** The Dockerfile and .dockerignore checked offline, as CI runs them (SPEC §8). */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { type Deployment, ROOT, only } from './helpers/k8s-manifests.js'

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
