# syntax=docker/dockerfile:1
# Loam as a container image: `docker build -t loam .` at the repository root.
# The same image runs every role: `loam serve` (default), `loam worker`, `loam migrate`.
# Guide: docs/deploy.md. The npm commands are the ones CI runs (.ci/run) and
# packages/server/src/test/deploy-files.test.ts checks that package.json defines them.

# ---- build: every dependency, compile and bundle, then drop the dev dependencies ----
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles its addon when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY scripts ./scripts
COPY packages ./packages
# The commands CI runs (.ci/run): `npm ci` (its `prepare` script builds too), `npm run build`,
# then only the production dependencies are kept.
RUN npm ci --no-audit --no-fund
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: Node, tini, the built packages and production node_modules only ----
FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    LOAM_HOST=0.0.0.0 \
    LOAM_PORT=8080 \
    LOAM_DATA_DIR=/data \
    NODE_OPTIONS=--max-old-space-size=192
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/packages ./packages
# The data directory (SQLite, local blobs, master.key, secret.key) is the only writable path.
RUN mkdir -p /data && chown node:node /data
# The official image's unprivileged user (uid 1000).
USER node
VOLUME ["/data"]
EXPOSE 8080
# tini is PID 1: it forwards SIGTERM/SIGINT to Node (graceful shutdown within
# LOAM_SHUTDOWN_TIMEOUT_MS) and reaps zombie processes.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/packages/cli/bin/loam.mjs"]
CMD ["serve"]
# Liveness only (the process answers); readiness (/readyz) belongs to the load balancer or kubelet.
# `loam worker` has no HTTP: run it with --no-healthcheck (compose: healthcheck: disable: true).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LOAM_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
