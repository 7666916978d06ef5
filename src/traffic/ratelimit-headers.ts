/** One limit's state after a request was counted against it. */
export interface LimitState {
  readonly policy: string
  readonly quota: number
  readonly windowSeconds: number
  readonly remaining: number
  readonly resetSeconds: number
  readonly exceeded: boolean
}

/**
 * draft-ietf-httpapi-ratelimit-headers-10 fields, as Structured Field lists: one item per policy,
 * `RateLimit-Policy: "user";q=600;w=60` (quota, window) and `RateLimit: "user";r=599;t=60` (remaining, reset).
 */
export function rateLimitHeaders (states: readonly LimitState[]): { 'ratelimit-policy': string, ratelimit: string } {
  return {
    'ratelimit-policy': states.map((state) => `"${state.policy}";q=${state.quota};w=${state.windowSeconds}`).join(', '),
    ratelimit: states.map((state) => `"${state.policy}";r=${state.remaining};t=${state.resetSeconds}`).join(', '),
  }
}
