# syntax=docker/dockerfile:1.7
# The voice worker's image: Fargate, linux/arm64. Build from the workspace root with
#   docker buildx build --platform linux/arm64 -t timmybot-worker .
# or let scripts/push-worker-image build and push it to the stack's ECR repository.
# On an x86-64 host the build runs under QEMU: slow, but the result is the same.

ARG RUST_IMAGE=rust:1-slim-bookworm
# Python carries yt-dlp; the same base in the tools stage keeps the venv's paths valid.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- build: the worker binary, from the whole workspace (it shares the crates in shared/)
FROM ${RUST_IMAGE} AS build
# libopus-dev and pkg-config: songbird's Opus links the system libopus instead of
# building it with CMake.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p voice-worker \
 && install -m 0755 target/release/voice-worker /usr/local/bin/voice-worker

# ---- tools: yt-dlp (with its JS challenge scripts) and deno, the JS runtime yt-dlp needs
# for YouTube. Both from PyPI, pinned; bump YTDLP_VERSION when YouTube breaks playback.
FROM ${PYTHON_IMAGE} AS tools
ARG YTDLP_VERSION=2026.8.19
ARG DENO_VERSION=2.9.8
RUN python -m venv /opt/tools \
 && /opt/tools/bin/pip install --no-cache-dir --disable-pip-version-check \
      "yt-dlp[default]==${YTDLP_VERSION}" "deno==${DENO_VERSION}"

# ---- runtime: slim Debian with Python, libopus, the tools and the binary; not root
FROM ${PYTHON_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus0 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/timmy timmy
COPY --from=tools /opt/tools /opt/tools
COPY --from=build /usr/local/bin/voice-worker /usr/local/bin/voice-worker
ENV PATH=/opt/tools/bin:$PATH \
    YTDLP_PATH=/opt/tools/bin/yt-dlp
USER 10001:10001
WORKDIR /home/timmy
ENTRYPOINT ["/usr/local/bin/voice-worker"]
