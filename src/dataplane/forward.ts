import type { IncomingMessage, ServerResponse } from 'node:http'
import { context as otelContext } from '@opentelemetry/api'
import { dispatchUpstream, type UpstreamCall } from '../upstream/upstream-exchange.js'
import { ClientBodyTimeoutError } from './body-errors.js'
import { requestBody } from './body-limits.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

/** RFC 9110 §10.1.1: the client waits for 100 Continue before sending its body. */
function expectsContinue (req: IncomingMessage): boolean {
  const expect = req.headers.expect
  return expect !== undefined && expect.toLowerCase() === '100-continue'
}

export interface ForwardSettings {
  /** How long a client may pause while sending its body (nginx client_body_timeout). */
  readonly bodyTimeoutMs: number
  /** How long a call may wait for a free connection of a saturated upstream pool. */
  readonly queueTimeoutMs: number
}

/** A body that stops arriving ends the call: 408 when nothing was answered yet, a cut response otherwise. */
function watchBodyPauses (exchange: Exchange, req: IncomingMessage, ms: number): void {
  req.setTimeout(ms, () => {
    if (exchange.over || req.complete) return
    const call = exchange.upstreamCall
    if (call) call.leave(new ClientBodyTimeoutError(`no request body bytes for ${ms} ms`))
    else req.socket.destroy()
  })
  req.once('end', () => { if (!req.socket.destroyed) req.socket.setTimeout(0) })
}

/**
 * The last step of an HTTP request: the request streams to its upstream and the answer straight back,
 * through one undici dispatch handler (upstream/upstream-exchange.ts) whose events are the exchange's.
 * The decision to accept the body is made before this step: only now is 100 Continue sent.
 */
export function forward (settings: ForwardSettings): Step {
  return {
    name: 'forward',
    run (exchange) {
      const { req, match } = exchange
      const res = exchange.res as ServerResponse
      if (expectsContinue(req)) res.writeContinue()
      const body = requestBody(req, match.route.maxBodyBytes)
      exchange.body = body
      if (body !== null) watchBodyPauses(exchange, req, settings.bodyTimeoutMs)
      const call: UpstreamCall = {
        pool: match.upstream.pool,
        method: req.method ?? 'GET',
        path: exchange.target,
        headers: exchange.upstreamHeaders ?? {},
        body,
        timeoutMs: match.route.timeoutMs,
        queueTimeoutMs: settings.queueTimeoutMs,
      }
      // With OpenTelemetry, the upstream call runs in the server span's context: undici's instrumentation makes it a child.
      const traceContext = exchange.trace?.context
      if (traceContext) otelContext.with(traceContext, () => { exchange.upstreamCall = dispatchUpstream(call, res, exchange) })
      else exchange.upstreamCall = dispatchUpstream(call, res, exchange)
      return undefined
    },
  }
}
