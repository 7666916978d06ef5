/** One limit's state after a request was counted against it. */
export interface LimitState {
  readonly policy: string
  readonly quota: number
  readonly windowSeconds: number
  readonly remaining: number
  readonly resetSeconds: number
  readonly exceeded: boolean
}

/** `RateLimit-Policy` for a set of limits: fixed by their quotas and windows, so built once per set. */
export function rateLimitPolicyHeader (policies: readonly { readonly name: string, readonly max: number, readonly windowMs: number }[]): string {
  return policies.map((policy) => `"${policy.name}";q=${policy.max};w=${Math.ceil(policy.windowMs / 1000)}`).join(', ')
}

/**
 * draft-ietf-httpapi-ratelimit-headers-10 fields, as Structured Field lists: one item per policy,
 * `RateLimit-Policy: "user";q=600;w=60` (quota, window) and `RateLimit: "user";r=599;t=60` (remaining, reset).
 */
export function rateLimitHeaders (states: readonly LimitState[]): { 'ratelimit-policy': string, ratelimit: string } {
  return {
    'ratelimit-policy': states.map((state) => `"${state.policy}";q=${state.quota};w=${state.windowSeconds}`).join(', '),
    ratelimit: remainingHeader(states),
  }
}

/** `RateLimit` alone (remaining, reset): the part that changes with every request. */
export function remainingHeader (states: readonly (LimitState | undefined)[]): string {
  let value = ''
  for (const state of states) {
    if (state === undefined) continue
    value += `${value === '' ? '' : ', '}"${state.policy}";r=${state.remaining};t=${state.resetSeconds}`
  }
  return value
}
