import type { OpenSocket, SocketRegistry } from './websocket-relay.js'

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

  /** Closes every socket whose identity `matches` (1008, policy violation). */
  closeWhere (matches: (socket: OpenSocket) => boolean, code: number, reason: string): number {
    let closed = 0
    for (const socket of this.#open) {
      if (!matches(socket)) continue
      socket.close(code, reason)
      this.#open.delete(socket)
      closed++
    }
    return closed
  }
}
