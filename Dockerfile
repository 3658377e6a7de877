# One image for both processes: the API (default command) and the worker
# (`node dist/src/worker/main.js`). Debian-based, not alpine: @temporalio/worker loads a native
# core-bridge that ships prebuilt for linux glibc only (x86_64 and aarch64).
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript to dist/ and prebuild the workflow bundle ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build

# --- runtime: production dependencies and compiled output only ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist

# Listen on every interface of the container; the worker loads the prebuilt bundle instead of
# bundling workflows/ at start.
ENV API_HOST=0.0.0.0 \
    API_PORT=3000 \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js

# Non-root (the node image's uid 1000). The only thing written to disk is the sandbox keyring in
# /app/keys, a volume in docker-compose.yml.
RUN mkdir -p /app/keys && chown node:node /app/keys
USER node
EXPOSE 3000
CMD ["node", "dist/src/api/main.js"]
