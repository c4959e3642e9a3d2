# One image for the edge, processing nodes and the progress gateway (the command picks which).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      python3 make g++ pkg-config \
      libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY edge/package.json edge/
COPY node-worker/package.json node-worker/
COPY native/package.json native/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:native && npm run build:web

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libavformat59 libavcodec59 libavfilter8 libswscale6 libswresample4 libavutil57 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
CMD ["node", "--import", "tsx", "edge/src/nodejs/main.ts"]
