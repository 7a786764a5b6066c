# syntax=docker/dockerfile:1
# Multi-stage build: dependencies are installed in a full image, the runtime image carries only
# production dependencies and the TypeScript sources (Node 26 runs them directly by type stripping).

FROM node:26-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:26-slim AS runtime
# No DATABASE_PATH here: its default ./data/items.db is /app/data/items.db under WORKDIR /app, and a
# variable set by the image cannot be unset by a deployment, yet production refuses DATABASE_PATH
# next to DATABASE_URL (test/deploy/consistency.test.ts starts the config the way a pod would).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json ./
COPY --chown=node:node service/src ./service/src
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000 9464
VOLUME ["/app/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# The flags of `npm start`, which the benchmark measures (test/stack/compose.test.ts keeps them equal).
# .env is not copied into the image (.dockerignore); instrumentation.ts only reads one mounted at /app/.env.
CMD ["node", "--no-allocation-site-pretenuring", "--import", "./service/src/instrumentation.ts", "service/src/server.ts"]
