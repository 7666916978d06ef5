import type { FastifyInstance } from 'fastify'
import type { ApiKeys } from '../auth/api-keys.js'
import type { AuthHook } from '../auth/authenticate.js'
import { requireActiveCompany } from '../auth/company-association.js'
import type { ApiKeyRecord } from '../db/api-keys-repository.js'
import type { CompaniesRepository } from '../db/companies-repository.js'
import { badRequest, notFound } from '../errors.js'
import { BODY_ERRORS, errorResponses } from '../api/error-responses.js'
import { noNul } from '../api/validation.js'

export interface ApiKeyRoutesDeps {
  readonly apiKeys: ApiKeys
  readonly companies: CompaniesRepository
  readonly adminAuth: AuthHook
  /** The scopes the route table names: the only ones a key may be given. */
  readonly scopes: readonly string[]
}

const tags = ['api keys']
const security = [{ bearerAuth: [] }]
const uuid = { type: 'string', format: 'uuid' } as const
const dateTime = { type: ['string', 'null'], format: 'date-time' } as const

const keyView = {
  type: 'object',
  properties: {
    id: uuid,
    company_id: uuid,
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    rate_limit_per_minute: { type: ['integer', 'null'] },
    expires_at: dateTime,
    created_at: { type: 'string', format: 'date-time' },
    revoked_at: dateTime,
    last_used_at: dateTime,
    previous_secret_valid_until: dateTime,
  },
} as const

const withSecret = { type: 'object', required: ['id', 'key'], properties: { ...keyView.properties, key: { type: 'string', description: 'The key itself: shown this once, never stored.' } } } as const

/** What an administrator sees of a key: everything but its secret (which is never stored either). */
export const apiKeyView = (record: ApiKeyRecord) => ({
  id: record.id,
  company_id: record.companyId,
  name: record.name,
  scopes: record.scopes,
  rate_limit_per_minute: record.rateLimitPerMinute,
  expires_at: record.expiresAt?.toISOString() ?? null,
  created_at: record.createdAt.toISOString(),
  revoked_at: record.revokedAt?.toISOString() ?? null,
  last_used_at: record.lastUsedAt?.toISOString() ?? null,
  previous_secret_valid_until: record.previousValidUntil?.toISOString() ?? null,
})

/** The body of POST /companies/:companyId/api-keys; the CLI checks its options against it too. */
export function newApiKeyBody (scopes: readonly string[]) {
  return {
    type: 'object',
    required: ['name', 'scopes'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200, ...noNul },
      // A route table without scopes leaves nothing a key could be given.
      scopes: { type: 'array', minItems: 1, uniqueItems: true, items: scopes.length > 0 ? { type: 'string', enum: [...scopes] } : { not: {} } },
      expires_at: dateTime,
      rate_limit_per_minute: { type: ['integer', 'null'], minimum: 1, maximum: 1_000_000 },
    },
  } as const
}

export const DEFAULT_GRACE_SECONDS = 24 * 60 * 60

export interface NewKeyBody { name: string, scopes: string[], expires_at?: string | null, rate_limit_per_minute?: number | null }

/** /api/v1/admin: a company's API keys (service accounts for its machines), behind AdminAuth. */
export async function apiKeyRoutes (app: FastifyInstance, deps: ApiKeyRoutesDeps): Promise<void> {
  app.addHook('onRequest', deps.adminAuth)
  const companyParams = { type: 'object', required: ['companyId'], properties: { companyId: uuid } } as const
  const keyParams = { type: 'object', required: ['keyId'], properties: { keyId: uuid } } as const

  app.post<{ Params: { companyId: string }, Body: NewKeyBody }>('/companies/:companyId/api-keys', {
    schema: {
      tags,
      security,
      summary: 'Create an API key for a company (its secret is in this answer only)',
      operationId: 'createApiKey',
      params: companyParams,
      body: newApiKeyBody(deps.scopes),
      response: { ...errorResponses({ 400: 'Inactive company, or an expiry in the past' }, 401, 403, { 404: 'No such company' }, ...BODY_ERRORS, 429), 201: withSecret },
    },
  }, async (request, reply) => {
    const { companyId } = request.params
    if (!await deps.companies.findById(companyId)) throw notFound(`Company with ID '${companyId}' not found.`)
    await requireActiveCompany(deps.companies, companyId)
    const expiresAt = request.body.expires_at ? new Date(request.body.expires_at) : null
    if (expiresAt !== null && expiresAt.getTime() <= Date.now()) throw badRequest('expires_at must be in the future.')
    const { record, key } = await deps.apiKeys.create({
      companyId,
      name: request.body.name.trim(),
      scopes: request.body.scopes,
      expiresAt,
      rateLimitPerMinute: request.body.rate_limit_per_minute ?? null,
      createdBy: request.identity?.userId ?? null,
    })
    request.log.info({ api_key_id: record.id, company_id: companyId, scopes: record.scopes }, 'api key created')
    return reply.code(201).send({ ...apiKeyView(record), key })
  })

  app.get<{ Params: { companyId: string } }>('/companies/:companyId/api-keys', {
    schema: {
      tags,
      security,
      summary: 'A company\'s API keys, newest first (never their secrets)',
      operationId: 'listApiKeys',
      params: companyParams,
      response: { ...errorResponses(401, 403, 404, 422, 429), 200: { type: 'array', items: keyView } },
    },
  }, async (request) => {
    const { companyId } = request.params
    if (!await deps.companies.findById(companyId)) throw notFound(`Company with ID '${companyId}' not found.`)
    return (await deps.apiKeys.list(companyId)).map(apiKeyView)
  })

  app.post<{ Params: { keyId: string }, Body: { grace_seconds?: number } | null | undefined }>('/api-keys/:keyId/rotate', {
    schema: {
      tags,
      security,
      summary: 'Give a key a new secret; the old one keeps working for grace_seconds (default a day)',
      operationId: 'rotateApiKey',
      params: keyParams,
      body: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, properties: { grace_seconds: { type: 'integer', minimum: 0, maximum: 30 * 86_400 } } }] },
      response: { ...errorResponses(401, 403, { 404: 'No such key, or revoked' }, ...BODY_ERRORS, 429), 200: withSecret },
    },
  }, async (request) => {
    const rotated = await deps.apiKeys.rotate(request.params.keyId, request.body?.grace_seconds ?? DEFAULT_GRACE_SECONDS)
    if (!rotated) throw notFound('API key not found or revoked.')
    request.log.info({ api_key_id: rotated.record.id }, 'api key rotated')
    return { ...apiKeyView(rotated.record), key: rotated.key }
  })

  app.delete<{ Params: { keyId: string } }>('/api-keys/:keyId', {
    schema: {
      tags,
      security,
      summary: 'Revoke a key: refused on every replica within a second',
      operationId: 'revokeApiKey',
      params: keyParams,
      response: { ...errorResponses(401, 403, 404, 422, 429), 200: keyView },
    },
  }, async (request) => {
    const revoked = await deps.apiKeys.revoke(request.params.keyId)
    if (!revoked) throw notFound('API key not found.')
    request.log.info({ api_key_id: revoked.id }, 'api key revoked')
    return apiKeyView(revoked)
  })
}
