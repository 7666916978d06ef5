/** One limit's state after a request was counted against it. */
export interface LimitState {
  readonly policy: string
  readonly remaining: number
  readonly resetSeconds: number
  readonly exceeded: boolean
}

/**
 * draft-ietf-httpapi-ratelimit-headers-10 fields, as Structured Field lists: one item per policy,
 * `RateLimit-Policy: "user";q=600;w=60` (quota, window) and `RateLimit: "user";r=599;t=60` (remaining, reset).
 * A policy's item is fixed by its quota and window, so it is built once per limit.
 */
export const policyItem = (policy: { readonly name: string, readonly max: number, readonly windowMs: number }): string =>
  `"${policy.name}";q=${policy.max};w=${Math.ceil(policy.windowMs / 1000)}`

/** `RateLimit`: remaining and reset of each limit counted (an undefined state, not counted, is left out). */
export function remainingHeader (states: readonly (LimitState | undefined)[]): string {
  let value = ''
  for (const state of states) {
    if (state === undefined) continue
    value += `${value === '' ? '' : ', '}"${state.policy}";r=${state.remaining};t=${state.resetSeconds}`
  }
  return value
}
