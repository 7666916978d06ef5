import { emailField, loginSchema } from '../auth/user-schemas.js'
import { BODY_ERRORS, errorResponses } from '../api/error-responses.js'
import { noNul } from '../api/validation.js'

/** JSON schemas of /api/v1/users/sso/*: they validate the queries and bodies and describe the routes in OpenAPI. */
const tags = ['sso']
const redirect = { 302: { description: 'Redirect (to the identity provider, or to the frontend with ?code= or ?error=)', type: 'null' } } as const
const security: [] = []

export const discoverSchema = {
  tags,
  summary: 'Whether the login page should offer single sign-on for this email (answered from its domain alone)',
  operationId: 'ssoDiscover',
  security,
  querystring: { type: 'object', required: ['email'], additionalProperties: false, properties: { email: emailField } },
  response: {
    ...errorResponses(422, 429),
    200: { type: 'object', properties: { sso: { type: 'boolean' }, password_login: { type: 'boolean' } } },
  },
} as const

export const startSchema = {
  tags,
  summary: 'Start single sign-on (a browser navigation): redirects to the company\'s identity provider',
  operationId: 'ssoStart',
  security,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { email: emailField, company: { type: 'string', format: 'uuid' } },
    oneOf: [{ required: ['email'] }, { required: ['company'] }],
  },
  response: { ...errorResponses(422, 429), ...redirect },
} as const

export const callbackSchema = {
  tags,
  summary: 'Where identity providers send the browser back; redirects to the frontend with a one-time code or an error code',
  operationId: 'ssoCallback',
  security,
  querystring: { type: 'object', additionalProperties: { type: 'string', ...noNul } },
  response: { ...errorResponses(422, 429), ...redirect },
} as const

export const exchangeSchema = {
  tags,
  summary: 'Trade the one-time code (single use, 60 s) for the same body as POST /api/v1/users/login',
  operationId: 'ssoExchange',
  security,
  body: {
    type: 'object',
    required: ['code'],
    additionalProperties: false,
    properties: { code: { type: 'string', minLength: 1, maxLength: 128, ...noNul } },
  },
  response: { ...errorResponses({ 401: 'Invalid, used or expired sign-in code' }, ...BODY_ERRORS, 429), 200: loginSchema.response[200] },
} as const
