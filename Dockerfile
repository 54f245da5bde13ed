# syntax=docker/dockerfile:1
# The reference gateway service as an image; k8s/ deploys it:
#   docker build -t reactive-connection-pool:0.1.0 .
#   docker run --rm -p 3000:3000 reactive-connection-pool:0.1.0
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: the locked development install (tsc), `npm run build`, the run-time manifest ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build
# The gateway's run-time packages (the library's dependencies and package.json's
# "gatewayRuntimeDependencies") at the versions package-lock.json locked, as a package.json
# and a package-lock.json of their own.
RUN node scripts/runtime-manifest.mjs /runtime

# ---- runtime: the build output and the run-time packages only; no compiler, not root ------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="reactive-connection-pool" \
      org.opencontainers.image.description="The reference gateway service of reactive-connection-pool" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT"
# GLIBC_TUNABLES: see GATEWAY_GLIBC_TUNABLES in src/app/v8-tuning.ts (freed read buffers stay for the next reads).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864
WORKDIR /app
COPY --from=build /runtime/package.json /runtime/package-lock.json ./
# Only what the gateway needs at run time (test/k8s/runtime-install.test.ts runs this command
# into a folder and checks the size and the contents); npm's cache stays out of the image.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# Numeric, so that Kubernetes can check runAsNonRoot (the image's `node` user, uid 1000).
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself as PID 1 (not npm): it gets SIGTERM and drains (see src/app/lifecycle/graceful-shutdown.ts).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
