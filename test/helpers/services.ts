import { test } from 'node:test'

/** CI sets this (GitHub Actions, GitLab, .ci/run): there, every service the suite uses must be present. */
export const inCi = (): boolean => process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0'

const reported = new Set<string>()

/**
 * The `skip` option for tests that need `service`, given why it is unavailable (undefined or false: it is there).
 * Locally a missing service skips its tests with the reason, so the run says what it did not check. In CI the
 * tests still skip, but a failing test named after the service is registered once per file: a green CI run
 * means every suite ran.
 */
export function requireService (service: string, unavailable: string | false | undefined): string | false {
  if (unavailable === undefined || unavailable === false) return false
  if (inCi() && !reported.has(service)) {
    reported.add(service)
    test(`${service} is available (CI requires it)`, () => {
      throw new Error(`${service} is required when CI is set, and it is unavailable: ${unavailable}`)
    })
  }
  return unavailable
}
