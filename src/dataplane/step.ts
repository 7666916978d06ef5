import type { GatewayError } from '../errors.js'
import type { Exchange } from './exchange.js'

/**
 * What a step of the chain gives back: nothing (go on), a refusal (answered by the one refusal writer), or a
 * promise of either when the step must wait (a token seen for the first time, a rate limit kept in Redis).
 * In steady state every step answers synchronously: a request costs no promise.
 */
export type StepOutcome = GatewayError | undefined | Promise<GatewayError | undefined>

/** One step of the data plane's chain: it reads and fills the exchange, and knows nothing of the other steps. */
export interface Step {
  readonly name: string
  run (exchange: Exchange): StepOutcome
}
