import { BODY_ERRORS, errorResponses } from '../api/error-responses.js'
import { MAX_UTF8_BYTES, noNul, patternRule } from '../api/validation.js'
import { BCRYPT_MAX_PASSWORD_BYTES } from './passwords.js'

/** JSON schemas of /api/v1/users/*: they validate the bodies and describe the routes in OpenAPI. */

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'

/**
 * The one email rule of every route that takes an address: an RFC 5321 mailbox in its common form
 * (dot-atom local part @ DNS labels, `0@com` included). The rule is the schema's own `pattern`, so the
 * gateway, the CLI and any tool reading /openapi.json check exactly the same thing; `format: email`
 * stays as the annotation generators know (server/validation.ts does not assert it on its own).
 */
export const emailField = {
  type: 'string',
  format: 'email',
  maxLength: 320,
  ...patternRule(`^${ATOM}(?:\\.${ATOM})*@${LABEL}(?:\\.${LABEL})*$`, 'value is not a valid email address', 'value_error'),
} as const

/**
 * A password being set. bcrypt reads only its first 72 bytes, so a longer one would be stored cut
 * short (`72×"A"+"2"` would open the account of `72×"A"+"1"`): refused instead, as the OWASP Password
 * Storage Cheat Sheet advises. `maxLength` is the same bound in characters, for tools that count those.
 */
export const newPasswordField = {
  type: 'string',
  minLength: 8,
  maxLength: BCRYPT_MAX_PASSWORD_BYTES,
  [MAX_UTF8_BYTES]: BCRYPT_MAX_PASSWORD_BYTES,
  description: `At least 8 characters and at most ${BCRYPT_MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt ignores anything after that).`,
  ...noNul,
} as const

export const uuidField = { type: 'string', format: 'uuid' } as const
const nullableString = { type: ['string', 'null'] } as const
/** A client that refreshes may ask for access tokens shorter than the configured lifetime (never longer). */
const accessTokenMinutes = { type: 'integer', minimum: 1, maximum: 525600, description: 'Lifetime of the access token, in minutes, at most the configured one.' } as const
const publicOperation = { security: [] } as const
const bearer = { security: [{ bearerAuth: [] }] } as const

export const loginSchema = {
  tags: ['users'],
  summary: 'Log in with email and password',
  operationId: 'login',
  ...publicOperation,
  body: {
    type: 'object',
    required: ['email', 'password'],
    properties: {
      email: emailField,
      // Longer than bcrypt's 72 bytes is accepted here but never matches (passwords.ts).
      password: { type: 'string', minLength: 6, maxLength: 1024, ...noNul },
      access_token_minutes: accessTokenMinutes,
    },
  },
  response: {
    ...errorResponses({ 401: 'Incorrect email or password (the same answer for an unknown email and an inactive user)' }, ...BODY_ERRORS, 429),
    200: {
      type: 'object',
      required: ['access_token', 'token_type', 'user_id', 'email', 'full_name', 'roles', 'company_id'],
      properties: {
        access_token: { type: 'string' },
        token_type: { type: 'string' },
        user_id: { type: 'string' },
        email: { type: 'string' },
        full_name: nullableString,
        roles: { type: ['array', 'null'], items: { type: 'string' } },
        company_id: nullableString,
        refresh_token: { type: 'string' },
      },
    },
  },
} as const

const refreshToken = { type: 'string', minLength: 1, maxLength: 512, ...noNul } as const

const refreshTokenBody = {
  type: 'object',
  required: ['refresh_token'],
  properties: { refresh_token: refreshToken, access_token_minutes: accessTokenMinutes },
} as const

export const refreshSchema = {
  tags: ['users'],
  summary: 'Trade a refresh token for a new access + refresh pair (the old one is spent)',
  operationId: 'refreshToken',
  ...publicOperation,
  body: refreshTokenBody,
  response: {
    ...errorResponses({ 401: 'Invalid, expired or reused refresh token' }, ...BODY_ERRORS, 429),
    200: {
      type: 'object',
      properties: { access_token: { type: 'string' }, refresh_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' } },
    },
  },
} as const

export const logoutSchema = {
  tags: ['users'],
  summary: 'End the session of the bearer token and/or the refresh token: its access and refresh tokens are refused on every replica',
  operationId: 'logout',
  security: [{ bearerAuth: [] }, {}],
  body: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, properties: { refresh_token: refreshToken } }] },
  response: { ...errorResponses(...BODY_ERRORS, 401, 429), 200: { type: 'object', properties: { message: { type: 'string' } } } },
} as const

export const ensureCompanySchema = {
  tags: ['users'],
  summary: 'Associate the caller with a company and get a new token',
  operationId: 'ensureCompany',
  ...bearer,
  body: {
    anyOf: [
      { type: 'null' },
      { type: 'object', properties: { company_id: { anyOf: [uuidField, { type: 'null' }] } } },
    ],
  },
  response: {
    ...errorResponses(
      { 400: 'No company to associate, or the company is unknown or inactive', 403: 'Not allowed to change company association', 404: 'User not found' },
      401, ...BODY_ERRORS, 429),
    200: {
      type: 'object',
      properties: {
        user_id: { type: 'string' },
        company_id: { type: 'string' },
        message: { type: 'string' },
        new_access_token: { type: 'string' },
        token_type: { type: 'string' },
        roles: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const

export const registerSchema = {
  tags: ['users'],
  summary: 'Self-registration (only when GATEWAY_ALLOW_SELF_REGISTRATION=true): joins the default company as a user',
  operationId: 'register',
  ...publicOperation,
  body: {
    type: 'object',
    required: ['email', 'password'],
    properties: {
      email: emailField,
      password: newPasswordField,
      name: { type: ['string', 'null'], minLength: 2, maxLength: 200, ...noNul },
    },
  },
  response: {
    ...errorResponses({ 400: 'Registration is not available (no active default company)', 409: 'A user with this email already exists' }, ...BODY_ERRORS, 429),
    201: { type: 'object', properties: { message: { type: 'string' }, user_id: { type: 'string' } } },
  },
} as const
