import semver from 'semver'
import type { PackageInfo } from './package-info.js'

/**
 * Why this Node.js cannot run the gateway, or undefined when it can. The range is package.json's
 * `engines.node`, so the check and the declaration cannot drift apart.
 */
export function runtimeRefusal (nodeVersion: string, execPath: string, pkg: PackageInfo): string | undefined {
  if (semver.satisfies(nodeVersion, pkg.nodeRange)) return undefined
  return [
    `atenex-gateway ${pkg.version} needs Node.js ${pkg.nodeRange} (package.json "engines"), but this is Node.js ${nodeVersion} (${execPath}).`,
    'In a checkout, `npm ci` installs the project\'s own Node.js as node_modules/.bin/node, which `npm start`, `npm test` and',
    'every npm script use: run a command as `node_modules/.bin/node dist/src/cli/index.js <command>`, or put',
    'node_modules/.bin first on PATH. Elsewhere, install a Node.js that matches (the Dockerfile uses the official node:26 image).',
    '',
  ].join('\n')
}
