import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { databaseUnavailable, isDatabaseOutage } from '../db/outage.js'
import { GatewayError, logGatewayError, methodNotAllowed } from '../errors.js'
import { recordOwnRoutes } from './method-not-allowed.js'
import { validationItems } from './validation.js'

/** FastAPI's 422 shape (validation.ts), so clients written against the seeds read our validation errors unchanged. */
function validationDetail (error: FastifyError) {
  return validationItems(error.validation ?? [], error.validationContext ?? 'body')
}

const STATUS_DETAIL: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  413: 'Request body too large.',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
}

function sendError (reply: FastifyReply, status: number, detail: unknown, headers?: Readonly<Record<string, string>>): void {
  if (headers) reply.headers(headers)
  reply.code(status).type('application/json; charset=utf-8').send({ detail })
}

/** One place turns every thrown error into the wire format; a 5xx never shows its cause to the client. */
export function handleError (thrown: FastifyError | GatewayError, request: FastifyRequest, reply: FastifyReply): void {
  const error = isDatabaseOutage(thrown) ? databaseUnavailable(thrown) : thrown
  request.refusalCode = error instanceof GatewayError ? error.code : error.validation ? 'VALIDATION_FAILED' : error.code
  if (error instanceof GatewayError) {
    logGatewayError(request.log, error)
    sendError(reply, error.statusCode, error.detail, error.headers)
    return
  }
  if (error.validation) {
    sendError(reply, 422, validationDetail(error))
    return
  }
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
    sendError(reply, 422, [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }])
    return
  }
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    sendError(reply, 422, [{ loc: ['body'], msg: 'Field required', type: 'missing' }])
    return
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    request.log.debug({ code: error.code, status }, error.message)
    sendError(reply, status, STATUS_DETAIL[status] ?? 'Bad Request')
    return
  }
  request.log.error({ err: error }, 'unhandled error')
  sendError(reply, 500, 'Internal Server Error')
}

/** Must be registered before any route: a path served with other methods answers 405 instead of 404. */
export function registerErrorHandlers (app: FastifyInstance): void {
  const allowedMethods = recordOwnRoutes(app)
  const unrouted = (request: FastifyRequest, reply: FastifyReply): void => {
    const allow = allowedMethods(request.raw.url ?? '/')
    if (allow.length > 0) {
      handleError(methodNotAllowed(allow), request, reply)
      return
    }
    request.refusalCode = 'NOT_FOUND'
    sendError(reply, 404, 'Not Found')
  }
  // A body that fails to parse on a path with no route is still answered as that path: 404 or 405.
  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) =>
    request.is404 && !(error instanceof GatewayError) ? unrouted(request, reply) : handleError(error, request, reply))
  app.setNotFoundHandler(unrouted)
}
