# syntax=docker/dockerfile:1
# Atenex Gateway image: build with `docker build -t atenex-gateway .`
# Two stages: `build` compiles TypeScript with every dependency; `runtime` holds only the production
# dependencies, the compiled dist/ and tini, and runs as an unprivileged numeric user.

# The Node.js of package.json's `engines` (Node 26, the Active LTS), on Debian 13 (trixie), the current stable.
# test/runtime.test.ts keeps this version within `engines`.
ARG NODE_VERSION=26.12.1

FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /app
# The lockfile alone decides the dependency tree (npm ci); copied first so this layer is cached
# until package.json or package-lock.json change.
COPY package.json package-lock.json ./
# (It also installs the node-linux-* binary of optionalDependencies, which a checkout needs and this stage
# does not use: `npm run build` runs whichever node is first on PATH, the same 26.x.)
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-trixie-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
# tini is PID 1: it forwards SIGTERM to node and reaps zombies (Kubernetes has no `docker run --init`).
RUN apt-get update \
    && apt-get install -y --no-install-recommends 'tini=0.19.0-*' \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Production dependencies only; bcrypt installs from the prebuilt binaries it ships (no compiler here).
# --omit=optional leaves out the project's own Node.js binary (~150 MB: the image has its node) and pg's
# optional Cloudflare socket; no production dependency needs an optional one.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The code stays root-owned and read-only to the app. Only the embedded database's default folder
# (GATEWAY_DATA_DIR=.data/pglite, used by `docker run` without PostgreSQL) is writable; in Kubernetes
# the gateway runs against PostgreSQL with a read-only root filesystem.
RUN mkdir -p /app/.data && chown 1000:1000 /app/.data
# Numeric uid:gid (the image's `node` user) so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 1000:1000
EXPOSE 8080
# The gateway drains on SIGTERM (readiness 503, in-flight requests finish, bounded by
# GATEWAY_SHUTDOWN_TIMEOUT, default 25 s): give `docker stop --time` more than that.
STOPSIGNAL SIGTERM
# Liveness only (no dependency checks); slim images have no curl, so node's fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli/index.js", "serve"]
