import type { FastifyInstance } from 'fastify'

/**
 * The documented answers of every route besides its success: the `{"detail": ...}` bodies of errors.ts
 * as two shared schemas (FastAPI's names, so clients generated against the seeds keep their types),
 * referenced by each route's `response` so that /openapi.json lists every status an operation gives.
 */
export const HTTP_ERROR = {
  $id: 'HTTPError',
  type: 'object',
  required: ['detail'],
  properties: { detail: { type: 'string' } },
} as const

export const HTTP_VALIDATION_ERROR = {
  $id: 'HTTPValidationError',
  type: 'object',
  required: ['detail'],
  properties: {
    detail: {
      type: 'array',
      items: {
        type: 'object',
        required: ['loc', 'msg', 'type'],
        properties: {
          loc: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
          msg: { type: 'string' },
          type: { type: 'string' },
        },
      },
    },
  },
} as const

export function registerErrorSchemas (app: FastifyInstance): void {
  app.addSchema(HTTP_ERROR)
  app.addSchema(HTTP_VALIDATION_ERROR)
}

const GENERIC: Record<number, string> = {
  400: 'Bad request (also: a missing, repeated or invalid Host header)',
  401: 'Not authenticated, or the token is invalid, expired or revoked (see WWW-Authenticate)',
  403: 'Authenticated but not allowed',
  404: 'Not found',
  409: 'Conflict with an existing resource',
  413: 'Request body over the limit',
  414: 'Request target longer than GATEWAY_MAX_URL_BYTES',
  415: 'Unsupported Content-Type (JSON expected)',
  431: 'Request header block over GATEWAY_MAX_HEADER_BYTES, or more than GATEWAY_MAX_HEADER_COUNT fields',
  422: 'Validation error: the body, path or query does not match this operation\'s schema',
  429: 'Too many requests (see Retry-After and RateLimit)',
  502: 'The upstream reset the connection or answered something that is not HTTP',
  503: 'Shutting down, or a dependency (database, Redis for a limit, an issuer\'s keys) is unavailable',
  504: 'The upstream did not answer in time',
}

/**
 * Answered by any route: before routing (400 for an invalid Host, 414, 431 at the front door), or whatever
 * the route (503 while draining or degraded).
 */
const EVERY_ROUTE = [400, 414, 431, 503]

export type ErrorStatus = keyof typeof GENERIC

/**
 * `response` entries for the given statuses, each a plain number (the generic meaning) or a
 * `{ status: 'what it means here' }` map; 414 and 503 are always added.
 */
export function errorResponses (...statuses: (number | Record<number, string>)[]): Record<number, { description: string, $ref: string }> {
  const described: Record<number, string> = {}
  for (const entry of [...EVERY_ROUTE, ...statuses]) {
    if (typeof entry === 'number') described[entry] ??= GENERIC[entry] ?? String(entry)
    else Object.assign(described, entry)
  }
  return Object.fromEntries(Object.entries(described).map(([status, description]) =>
    [status, { description, $ref: status === '422' ? 'HTTPValidationError#' : 'HTTPError#' }]))
}

/** What any route with a JSON body can also answer: too large, not JSON, not matching its schema. */
export const BODY_ERRORS = [413, 415, 422] as const
