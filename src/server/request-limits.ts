import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.js'

/** Request targets longer than `maxUrlBytes` get 414 before routing (Node alone would only cap the header block). */
export function limitUrlLength (app: FastifyInstance, maxUrlBytes: number): void {
  app.addHook('onRequest', (request, _reply, done) => {
    done((request.raw.url ?? '').length > maxUrlBytes ? new GatewayError('URI_TOO_LONG', 414, 'URI Too Long') : undefined)
  })
}
