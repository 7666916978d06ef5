import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PackageInfo {
  readonly name: string
  readonly version: string
  /** package.json's `engines.node`: the one statement of the Node.js versions the gateway runs on. */
  readonly nodeRange: string
}

/**
 * The gateway's package.json, found upwards from this file: src/cli/ under tsx, dist/src/cli/ when built,
 * /app/dist/src/cli/ in the image (which copies package.json to /app). Kept free of anything newer than
 * the oldest Node.js it may be started on, since the runtime check reads it.
 */
export function packageInfo (): PackageInfo {
  let folder = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(folder, 'package.json')
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string, version?: string, engines?: { node?: string } }
      if (pkg.name === 'atenex-gateway') return { name: pkg.name, version: pkg.version ?? '0.0.0', nodeRange: pkg.engines?.node ?? '*' }
    }
    const parent = dirname(folder)
    if (parent === folder) throw new Error('package.json of atenex-gateway not found above the CLI')
    folder = parent
  }
}
