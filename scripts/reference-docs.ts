import { readFileSync, writeFileSync } from 'node:fs'
import { settingsSchema } from '../src/config.js'
import { ERROR_CODES } from '../src/errors.js'
import { SSO_FAILURES } from '../src/sso/sso-failures.js'
import { AUDIT_EVENTS } from '../src/audit/events.js'

/** README sections generated from the code, between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers. */
export const README_PATH = 'README.md'

function cell (value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function configurationTable (): string {
  const defaults = settingsSchema.parse({}) as Record<string, unknown>
  const rows = Object.entries(settingsSchema.shape).map(([name, field]) => {
    const fallback = defaults[name]
    const shown = fallback === undefined ? '—' : Array.isArray(fallback) ? (fallback.length ? fallback.join(',') : '—') : String(fallback)
    return `| \`${name}\` | ${cell(shown === '—' ? shown : `\`${shown}\``)} | ${cell(field.description ?? '')} |`
  })
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n')
}

export function errorTable (): string {
  const rows = Object.entries(ERROR_CODES).map(([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${cell(meaning)} |`)
  return ['| Code (in the log) | Status | Meaning |', '|---|---|---|', ...rows].join('\n')
}

export function ssoErrorTable (): string {
  const rows = Object.entries(SSO_FAILURES).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`)
  return ['| `error` | Meaning |', '|---|---|', ...rows].join('\n')
}

export function auditEventTable (): string {
  const rows = Object.entries(AUDIT_EVENTS).map(([type, meaning]) => `| \`${type}\` | ${cell(meaning)} |`)
  return ['| Event | Written when |', '|---|---|', ...rows].join('\n')
}

export const SECTIONS: Record<string, () => string> = {
  'config-table': configurationTable, 'error-table': errorTable, 'sso-error-table': ssoErrorTable, 'audit-event-table': auditEventTable,
}

export function renderReadme (readme: string): string {
  let out = readme
  for (const [name, render] of Object.entries(SECTIONS)) {
    const pattern = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`)
    if (!pattern.test(out)) throw new Error(`README.md has no <!-- ${name}:start --> … <!-- ${name}:end --> section`)
    out = out.replace(pattern, (_match, start: string, end: string) => `${start}${render()}\n${end}`)
  }
  return out
}

if (process.argv[1]?.endsWith('reference-docs.ts')) {
  writeFileSync(README_PATH, renderReadme(readFileSync(README_PATH, 'utf8')))
  process.stdout.write('README.md reference tables regenerated\n')
}
