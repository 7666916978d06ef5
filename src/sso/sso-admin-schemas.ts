import { BODY_ERRORS, errorResponses } from '../api/error-responses.js'
import { noNul } from '../api/validation.js'
import { AUTHORIZATION_PARAMS, DOMAIN_PATTERN } from './provider-settings.js'

/** JSON schemas of the admin API for a company's identity provider. */
const security = [{ bearerAuth: [] }]
const tags = ['admin', 'sso']
const companyParams = { type: 'object', required: ['companyId'], properties: { companyId: { type: 'string', format: 'uuid' } } } as const

export const providerSchema = {
  type: 'object',
  properties: {
    company_id: { type: 'string', format: 'uuid' },
    issuer: { type: 'string' },
    client_id: { type: 'string' },
    client_secret_set: { type: 'boolean' },
    allowed_domains: { type: 'array', items: { type: 'string' } },
    scopes: { type: 'array', items: { type: 'string' } },
    password_login: { type: 'boolean' },
    provisioning: { type: 'string', enum: ['jit', 'pre_created'] },
    max_session_hours: { type: 'integer' },
    authorization_params: { type: 'object', additionalProperties: { type: 'string' } },
    redirect_uri: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const

export const putProviderSchema = {
  tags,
  security,
  summary: 'Connect a company to its OpenID Connect provider (create or replace; fields left out keep their stored value)',
  params: companyParams,
  body: {
    type: 'object',
    required: ['issuer', 'client_id', 'allowed_domains'],
    additionalProperties: false,
    properties: {
      issuer: { type: 'string', minLength: 1, maxLength: 2048, ...noNul },
      client_id: { type: 'string', minLength: 1, maxLength: 512, ...noNul },
      client_secret: { type: 'string', minLength: 1, maxLength: 4096, ...noNul },
      allowed_domains: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', maxLength: 253, pattern: DOMAIN_PATTERN } },
      scopes: { type: 'array', minItems: 1, maxItems: 30, items: { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,100}$' } },
      password_login: { type: 'boolean' },
      provisioning: { type: 'string', enum: ['jit', 'pre_created'] },
      max_session_hours: { type: 'integer', minimum: 1, maximum: 8760 },
      authorization_params: {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(AUTHORIZATION_PARAMS.map((name) => [name, { type: 'string', minLength: 1, maxLength: 200, ...noNul }])),
      },
    },
  },
  operationId: 'putCompanySso',
  response: {
    ...errorResponses({ 400: 'A setting that cannot work (not https, no openid scope, discovery failed, no secret for a new provider)' }, 401, 403, 404, { 409: 'A domain already belongs to another company' }, ...BODY_ERRORS, 429),
    200: providerSchema,
  },
} as const

export const getProviderSchema = {
  tags,
  security,
  summary: 'A company\'s identity provider (the client secret is never returned)',
  operationId: 'getCompanySso',
  params: companyParams,
  response: { ...errorResponses(401, 403, 404, 422, 429), 200: providerSchema },
} as const

export const listProvidersSchema = {
  tags,
  security,
  summary: 'Every company\'s identity provider',
  operationId: 'listSso',
  response: { ...errorResponses(401, 403, 429), 200: { type: 'array', items: providerSchema } },
} as const

export const deleteProviderSchema = {
  tags,
  security,
  summary: 'Disconnect a company from its identity provider (its SSO sessions stop refreshing)',
  operationId: 'deleteCompanySso',
  params: companyParams,
  response: { ...errorResponses(401, 403, 404, 422, 429), 204: { type: 'null', description: 'Disconnected' } },
} as const
