#!/usr/bin/env node
// The entry point checks the runtime before loading anything else: the gateway's own modules may use what
// only the Node.js of package.json's `engines` has, and would fail on an older one with a cryptic error.
import { setFlagsFromString } from 'node:v8'
import { EXIT_USAGE } from './command.js'
import { packageInfo } from './package-info.js'
import { runtimeRefusal } from './runtime-guard.js'

const refusal = runtimeRefusal(process.version, process.execPath, packageInfo())
if (refusal === undefined) {
  // V8's allocation-site pretenuring allocates a site's objects straight in the old generation once enough of
  // them survived scavenges. Such objects in the gateway mostly wait for I/O and then die, so, pretenured, they
  // pile up as old garbage until a major collection: a 100,000-event audit export (while it still held each page's
  // rows across its yield) grew the gateway's RSS by 46-54 MB with it and 13-15 MB without, and the bench's 64 KiB
  // scenario cost 15% less CPU per request without (bench/README.md).
  setFlagsFromString('--no-allocation-site-pretenuring')
  // Every socket read of a request body is a fresh Buffer that V8 counts as external memory. By default V8 starts
  // a major collection each time external memory has grown by a fixed step since the last one, however little of
  // it is still alive: streaming uploads, the gateway marked its whole heap every ~20-50 MiB of bodies, and that
  // marking was most of the CPU an upload cost beyond reply-from's (bench/README.md; the same effect in Deno:
  // denoland/deno#35808). Counted in the global heap limit instead, dead Buffers go with the scavenges that free
  // them, and a major collection comes when the heap and the live external memory together call for one.
  // Both set before the gateway's modules load, in every process (cluster workers run this entry too).
  setFlagsFromString('--external-memory-accounted-in-global-limit')
  await import('./commands.js')
} else {
  process.stderr.write(refusal)
  process.exitCode = EXIT_USAGE
}
