# syntax=docker/dockerfile:1
#
# One image for every Colony process: `colony host` (the default) or
# `colony directory`, chosen by the container's command:
#
#   docker build -t colony .
#   docker run -e COLONY_ADMIN_TOKEN=... -e NATS_URL=... -e REDIS_URL=... colony            # a host
#   docker run -e COLONY_ADMIN_TOKEN=... -e NATS_URL=... -e REDIS_URL=... colony directory  # a directory replica
#
# The image runs the compiled JavaScript (packages/*/dist), built in the build
# stage; neither the TypeScript sources nor tsx nor TypeScript are in it.

# ---------------------------------------------------------------- build
FROM node:20-slim AS build
WORKDIR /app
# Only the manifests first, so that this layer is rebuilt only when dependencies change.
# Every workspace listed in package.json must be here, or `npm ci` refuses.
COPY package.json package-lock.json ./
COPY packages/actors/package.json packages/actors/
COPY packages/directory/package.json packages/directory/
COPY packages/host/package.json packages/host/
# All dependencies: the build needs TypeScript. --ignore-scripts: the root
# package's `prepare` would build before the sources are here; the RUN below does.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build-base.json tsconfig.build.json ./
COPY packages/actors/tsconfig.build.json packages/actors/
COPY packages/directory/tsconfig.build.json packages/directory/
COPY packages/host/tsconfig.build.json packages/host/
COPY packages/actors/src packages/actors/src
COPY packages/directory/src packages/directory/src
COPY packages/host/src packages/host/src
RUN npm run build

# ---------------------------------------------------------------- dependencies
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/actors/package.json packages/actors/
COPY packages/directory/package.json packages/directory/
COPY packages/host/package.json packages/host/
# Production dependencies only: tsx, typescript, vitest and yaml of the root
# devDependencies are left out. --ignore-scripts: `prepare` builds, which
# needs TypeScript; the build stage has done it.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---------------------------------------------------------------- runtime
FROM node:20-slim AS runtime
WORKDIR /app
# node_modules (with the workspaces' links) and the manifests, whose exports
# resolve @colony/* to dist/ under plain Node.
COPY --from=deps /app /app
COPY --from=build /app/packages/actors/dist packages/actors/dist
COPY --from=build /app/packages/directory/dist packages/directory/dist
COPY --from=build /app/packages/host/dist packages/host/dist
# The bin runs dist: without src beside it, dist is all there is.
COPY packages/host/bin packages/host/bin
# The console (/ui): plain ES modules, HTML and CSS, served as they are.
COPY packages/host/console packages/host/console

# Listen on every interface inside the container. A non-loopback bind makes
# COLONY_ADMIN_TOKEN (16+ characters) mandatory: the process refuses to start
# without it, so the image can never serve an open admin API by accident.
ENV COLONY_HTTP_HOST=0.0.0.0 \
    COLONY_HTTP_PORT=8080
EXPOSE 8080

# The official image's unprivileged `node` user (uid 1000), numeric so that
# Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

# Liveness only: /healthz never touches Redis or NATS. slim has no curl: use node.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.COLONY_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Node is PID 1 and Colony handles SIGTERM itself (drain, release, leave, exit 0).
ENTRYPOINT ["node", "/app/packages/host/bin/colony.js"]
CMD ["host"]
