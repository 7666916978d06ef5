/** Every event the audit trail records, with what it means (printed into the README's "Audit trail"). */
export const AUDIT_EVENTS = {
  'login.succeeded': 'A password login opened a session (target: the session).',
  'login.failed': 'A password login was refused (details.reason: unknown_account, wrong_password, inactive, password_login_disabled, company_inactive).',
  'login.locked': 'Failed logins reached the limit for an email and address, or for the account: further attempts get 429 until the window ends.',
  'token.refreshed': 'A refresh token was spent for a new access and refresh token (target: the session).',
  'token.reuse_detected': 'A spent refresh token was presented again: its session was revoked.',
  'session.revoked': 'A session was ended: by logout, by an administrator, or after a refresh token reuse.',
  'sso.succeeded': 'A single sign-on callback proved a user (target: the user).',
  'sso.failed': 'A single sign-on ended without a code (details.reason: the error code the frontend received).',
  'company.created': 'An administrator created a company.',
  'user.created': 'An administrator created a user, or someone registered.',
  'user.deactivated': 'An administrator deactivated a user.',
  'user.reactivated': 'An administrator made a deactivated user active again.',
  'user.roles_changed': 'An administrator changed a user\'s roles (details: before and after).',
  'user.company_changed': 'A user\'s company changed (ensure-company; details: from and to).',
  'api_key.created': 'An administrator created an API key.',
  'api_key.revoked': 'An administrator revoked an API key.',
  'api_key.used': 'An API key was used for the first time this UTC day (written with the batched last_used_at, not per request).',
  'admin.denied': 'An authenticated caller without the admin role was refused an admin route.',
} as const

export type AuditEventType = keyof typeof AUDIT_EVENTS
export const AUDIT_EVENT_TYPES = Object.keys(AUDIT_EVENTS) as AuditEventType[]

export type ActorType = 'user' | 'api_key' | 'system'

export interface AuditActor {
  readonly type: ActorType
  /** A user's or key's id; for the system, what acted (`retention`, `cli`), or null. */
  readonly id: string | null
}

export const SYSTEM: AuditActor = { type: 'system', id: null }

/** A small JSON of facts: never a secret (the writer drops secret-like keys and values, see details.ts). */
export type AuditDetailValue = string | number | boolean | null | readonly string[]
export type AuditDetails = Readonly<Record<string, AuditDetailValue>>

export interface AuditEvent {
  readonly type: AuditEventType
  readonly actor: AuditActor
  readonly target?: { readonly type: string, readonly id: string } | null
  /** Whose chain the row joins; null is the platform's (unknown accounts, users without a company). */
  readonly companyId: string | null
  readonly details?: AuditDetails
}

/** Where the request came from: taken from a Fastify request by auditContext(), never assembled by hand. */
export interface AuditContext {
  readonly clientIp: string | null
  readonly userAgent: string | null
  readonly requestId: string | null
}

export const NO_REQUEST: AuditContext = { clientIp: null, userAgent: null, requestId: null }
