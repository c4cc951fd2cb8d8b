# syntax=docker/dockerfile:1
#
# live-transcribe server images. Two targets from one file:
#   docker build -t live-transcribe:gpu .               default: CUDA 12 + cuDNN 9, EXECUTION_PROVIDER=cuda
#   docker build -t live-transcribe:cpu --target cpu .  Debian slim, CPU only
#
# Run (the volume keeps API keys, encrypted transcripts and downloaded models; audio never touches disk):
#   docker run --gpus all -p 8080:8080 -v lt:/var/lib/live-transcribe -e TOKEN_SECRET=<32+ random bytes> live-transcribe:gpu
#   docker run -p 8080:8080 -v lt:/var/lib/live-transcribe -e TOKEN_SECRET=... live-transcribe:cpu
# Inside a container the server listens on 0.0.0.0, so auth is on (AUTH=auto); manage keys with
#   docker exec -it <container> node --import tsx server/keys-cli.ts create <owner>   (also: list, revoke <id>)
# With no model configured, the first start pulls the default English model into the volume when the
# model host is reachable (OFFLINE=1 skips it) and serves the shipped demo model otherwise; pull another with
#   docker run --rm -v lt:/var/lib/live-transcribe live-transcribe:cpu node --import tsx server/models-cli.ts pull <name>
# Every server option is an environment variable: docker run ... live-transcribe:cpu node --import tsx server/main.ts --help

ARG NODE_VERSION=20

# Production dependencies with their native parts, plus the sources the server runs (through tsx).
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay off (onnxruntime-node's would fetch CUDA libraries); only the native builds needed run.
# onnxruntime-node ships its CPU library for every platform: keep Linux only.
RUN npm ci --omit=dev --ignore-scripts \
 && npm rebuild better-sqlite3 esbuild \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/win32 node_modules/onnxruntime-node/bin/napi-v6/darwin \
 && npm cache clean --force
COPY tsconfig.json ./
COPY protocol ./protocol
COPY engine ./engine
COPY server ./server
COPY client ./client
COPY models ./models

# The same, plus onnxruntime-node's CUDA 12 execution provider libraries.
FROM build AS build-cuda
ARG ONNXRUNTIME_NODE_INSTALL=cuda12
RUN node node_modules/onnxruntime-node/script/install.js \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

# CPU image.
FROM node:${NODE_VERSION}-bookworm-slim AS cpu
# ffmpeg decodes the OpenAI-compatible route's WAV, FLAC, MP3, M4A uploads (Opus needs none).
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 transcribe \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/live-transcribe transcribe
WORKDIR /app
COPY --from=build /app /app
# SHUTDOWN_GRACE_MS stays under `docker stop`'s default 10 s, so live sessions get their finals before SIGKILL.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 EXECUTION_PROVIDER=cpu SHUTDOWN_GRACE_MS=8000 \
    DATA_DIR=/var/lib/live-transcribe/data MODELS_DIR=/var/lib/live-transcribe/models
USER 10001:10001
VOLUME ["/var/lib/live-transcribe"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "server/main.ts"]

# GPU image (the default target): CUDA 12 runtime with cuDNN 9, as onnxruntime-node's CUDA provider needs.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS gpu
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 transcribe \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/live-transcribe transcribe
WORKDIR /app
COPY --from=build-cuda /usr/local/bin/node /usr/local/bin/node
COPY --from=build-cuda /app /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 EXECUTION_PROVIDER=cuda SHUTDOWN_GRACE_MS=8000 \
    DATA_DIR=/var/lib/live-transcribe/data MODELS_DIR=/var/lib/live-transcribe/models
USER 10001:10001
VOLUME ["/var/lib/live-transcribe"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "server/main.ts"]
