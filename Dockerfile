# syntax=docker/dockerfile:1.7
#
# One Dockerfile for the whole workspace, one build, four small runtime images:
#
#   docker build --target api     -t hes-gateway/api .       # Fastify intake API, PORT 3000
#   docker build --target worker  -t hes-gateway/worker .    # BullMQ worker, metrics on 9464
#   docker build --target sandbox -t hes-gateway/sandbox .   # Ministry emulator, 4010 (dev/CI only)
#   docker build --target migrate -t hes-gateway/migrate .   # one-shot `migrate`, and the `hes` operator CLI
#
# The services share packages/core and packages/hes-client, so the workspace is installed and compiled
# once (stage `build`); `pnpm deploy --prod` then cuts one self-contained bundle per service out of it, and
# deploy/docker/prune-bundle.mjs removes the build tooling that @prisma/client's peers drag in. Each
# runtime image is node:<lts>-bookworm-slim + one bundle (~50-70 MB), run as the unprivileged `node` user.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------------------------------------------------
# base: Node.js and the pnpm version pinned in package.json's "packageManager" field.
# (npm rather than corepack: corepack's bundled registry keys lag behind npm's key rotation and fail with
# "No compatible signature found" on some Node releases; the version is still read from packageManager.)
FROM ${NODE_IMAGE} AS base
ENV PNPM_HOME=/pnpm \
    CI=true \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
ENV PATH=$PNPM_HOME:$PATH
WORKDIR /repo
COPY package.json ./
RUN PNPM_VERSION="$(node -p "require('./package.json').packageManager.split('@')[1].split('+')[0]")" \
 && npm install --global "pnpm@${PNPM_VERSION}" \
 && pnpm --version

# ---------------------------------------------------------------------------------------------------------
# build: frozen install, `prisma generate` (the root postinstall; prisma.config.ts supplies a default
# DATABASE_URL, none is needed at build time), `pnpm build`, then one pruned production bundle per service.
FROM base AS build
COPY . .
# The pnpm store is a BuildKit cache mount, so a rebuild after a source edit re-links, it does not
# re-download. (Not `pnpm fetch` + `install --offline`: node_modules pre-built by `fetch` keeps .bin shims
# without pnpm's NODE_PATH, and the root postinstall's prisma.config.ts then cannot load
# @prisma/adapter-pg, which is a dependency of packages/core, not of the root.)
RUN --mount=type=cache,id=hes-pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile
RUN pnpm build
# `--legacy`: the workspace does not use inject-workspace-packages; @hes/core and @hes/client are copied
# into each bundle with their compiled dist/. The migration runner looks for prisma/migrations above its
# dist/ folder, so the migrations go to the root of the migrate bundle.
RUN --mount=type=cache,id=hes-pnpm-store,target=/pnpm/store \
    set -eux; \
    pnpm --filter @hes/api     deploy --prod --legacy --offline /prod/api; \
    pnpm --filter @hes/worker  deploy --prod --legacy --offline /prod/worker; \
    pnpm --filter @hes/sandbox deploy --prod --legacy --offline /prod/sandbox; \
    pnpm --filter @hes/core    deploy --prod --legacy --offline /prod/migrate; \
    mkdir -p /prod/migrate/prisma && cp -R prisma/migrations /prod/migrate/prisma/migrations; \
    for bundle in /prod/*; do node deploy/docker/prune-bundle.mjs "$bundle"; done; \
    cp deploy/docker/healthcheck.mjs /prod/healthcheck.mjs

# ---------------------------------------------------------------------------------------------------------
# runtime: what every service image shares.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=build /prod/healthcheck.mjs /usr/local/lib/hes/healthcheck.mjs
# The code belongs to root and is read-only for the `node` user (uid 1000) the services run as.
USER node
STOPSIGNAL SIGTERM

# ---------------------------------------------------------------------------------------------------------
FROM runtime AS api
COPY --from=build /prod/api /app
ENV PORT=3000 HOST=0.0.0.0
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD node /usr/local/lib/hes/healthcheck.mjs "http://127.0.0.1:${PORT}/healthz"
CMD ["node", "dist/server.js"]

# ---------------------------------------------------------------------------------------------------------
FROM runtime AS worker
COPY --from=build /prod/worker /app
# The same heap limits as `pnpm start:worker` (package.json; a test keeps them equal): left alone, V8
# lets a busy worker's heap grow to 310 MiB RSS at 1 M codes although little of it is live; with them the
# bench's peak is 181 MiB. Raise both with the container's memory if a workload needs more.
ENV WORKER_METRICS_PORT=9464 \
    NODE_OPTIONS="--enable-source-maps --max-old-space-size=160 --max-semi-space-size=8"
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD node /usr/local/lib/hes/healthcheck.mjs "http://127.0.0.1:${WORKER_METRICS_PORT}/healthz"
CMD ["node", "dist/main.js"]

# ---------------------------------------------------------------------------------------------------------
# The Ministry emulator: for local stacks and CI, never for production traffic.
FROM runtime AS sandbox
COPY --from=build /prod/sandbox /app
ENV SANDBOX_PORT=4010 SANDBOX_HOST=0.0.0.0
EXPOSE 4010
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD node /usr/local/lib/hes/healthcheck.mjs "http://127.0.0.1:${SANDBOX_PORT}/__sandbox/health"
CMD ["node", "dist/main.js"]

# ---------------------------------------------------------------------------------------------------------
# One-shot: creates the database if missing and applies prisma/migrations (safe to run concurrently and
# repeatedly). The same image carries the operator CLI:
#   docker compose run --rm migrate node dist/cli/hes.js keys create --name kiosk --scopes checks:write
FROM runtime AS migrate
COPY --from=build /prod/migrate /app
CMD ["node", "dist/cli/migrate.js"]
