import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RouteSpec } from '../../src/dataplane/route-table.js'

/** A GATEWAY_ROUTES_FILE holding `routes`, in a fresh temporary folder; returns its path. */
export function writeRoutesFile (routes: RouteSpec[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gateway-routes-')), 'routes.json')
  writeFileSync(file, JSON.stringify(routes))
  return file
}
