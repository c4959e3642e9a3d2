# One image for the edge, processing nodes and the progress gateway (docker-compose.yml gives each
# service its command; the default is the edge). It runs compiled JavaScript (`npm run build`,
# scripts/build.ts) with the production dependencies only: no tsx, no devDependencies, no compilers.

FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      python3 make g++ pkg-config \
      libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Every workspace's package.json, so `npm ci` matches the lockfile (and this layer stays cached
# until dependencies change).
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY native/package.json native/
COPY edge/package.json edge/
COPY node-worker/package.json node-worker/
COPY node-worker/gateway/package.json node-worker/gateway/
COPY node-worker/cli/package.json node-worker/cli/
RUN npm ci --no-audit --no-fund
COPY . .
# The addon (node-gyp), then the web console and the bundles, with the addon, the migrations and the
# wasm worker copied beside them into dist/.
RUN npm run build:native && npm run build

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libavformat59 libavcodec59 libavfilter8 libswscale6 libswresample4 libavutil57 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY native/package.json native/
COPY edge/package.json edge/
COPY node-worker/package.json node-worker/
COPY node-worker/gateway/package.json node-worker/gateway/
COPY node-worker/cli/package.json node-worker/cli/
# Production dependencies only. No install scripts: the one that matters (the native addon's) ran in
# the build stage, whose .node file comes with dist/.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist/
# Other services: node dist/node.mjs (processing node), node dist/gateway.mjs (progress gateway),
# node dist/cli.mjs (the framewire command line).
CMD ["node", "dist/edge.mjs"]
