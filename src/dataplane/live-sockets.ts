import type { Identity } from '../auth/identity.js'
import type { GatewayError } from '../errors.js'
import { POLICY_VIOLATION, type OpenSocket, type SocketRegistry } from './websocket-relay.js'

/** A close frame's reason is at most 123 bytes (RFC 6455 §5.5). */
const closeReason = (refusal: GatewayError): string => String(refusal.detail).slice(0, 120)

/**
 * The open WebSockets of this replica, by user and by company, so that a policy change (a deactivated user,
 * a company change, a logout) can close them at once instead of when their token expires.
 */
export class LiveSockets implements SocketRegistry {
  readonly #open = new Set<OpenSocket>()

  add (socket: OpenSocket): () => void {
    this.#open.add(socket)
    return () => { this.#open.delete(socket) }
  }

  get size (): number {
    return this.#open.size
  }

  /**
   * Checks again the identity of every open socket that `matches`, and closes those refused now with 1008
   * (RFC 6455 §7.4.1, policy violation), the refusal's detail as the reason.
   */
  recheck (matches: (identity: Identity) => boolean, check: (identity: Identity) => Promise<GatewayError | undefined>): void {
    for (const socket of this.#open) {
      const identity = socket.exchange.identity
      if (identity === null || !matches(identity)) continue
      check(identity).then((refusal) => {
        if (refusal === undefined || !this.#open.delete(socket)) return
        socket.close(POLICY_VIOLATION, closeReason(refusal))
      }, () => undefined)
    }
  }
}
