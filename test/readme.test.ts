import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { README_PATH, renderReadme } from '../scripts/reference-docs.js'

test('the README\'s configuration and error tables match the code (npm run docs regenerates them)', () => {
  const readme = readFileSync(README_PATH, 'utf8')
  assert.equal(renderReadme(readme), readme)
})

test('the README starts with the two commands a newcomer types', () => {
  const readme = readFileSync(README_PATH, 'utf8')
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
  const commands = block.split('\n').filter(Boolean).map((line) => line.split('#')[0]?.trim())
  assert.deepEqual(commands, ['npm ci && npm start', 'npm test'])
  const ci = readFileSync('.ci/run', 'utf8')
  assert.match(ci, /^npm test$/m, '.ci/run runs the README\'s test command')
})
