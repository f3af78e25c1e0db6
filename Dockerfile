# syntax=docker/dockerfile:1
#
# Ledgerline: one image for the team server (the default command) and for asr-worker.
#
#   docker build -t ledgerline .
#   docker build -t ledgerline:cuda --build-arg WHISPER_CUDA=1 .    # whisper.cpp with its CUDA backend
#
# The build stage runs `make build`, as on a developer's machine, on the same Debian release and Go
# version; PORTABLE=1 keeps whisper.cpp free of tuning for the build machine's CPU. With
# WHISPER_CUDA=1 both stages start from NVIDIA's CUDA images instead (the toolkit to build with, its
# runtime libraries to run with), and the image runs only where the NVIDIA container toolkit
# provides the driver (docker run --gpus all). docs/deploy.md shows how to run both.

ARG GO_VERSION=1.26.8
ARG DEBIAN=bookworm
ARG CUDA_VERSION=12.6.3
ARG CUDA_OS=ubuntu24.04
ARG WHISPER_CUDA=0

FROM golang:${GO_VERSION}-${DEBIAN} AS go

# Where the build runs: Debian with Go (WHISPER_CUDA=0), or the CUDA toolkit with the same Go.
FROM go AS build-base-0

FROM nvidia/cuda:${CUDA_VERSION}-devel-${CUDA_OS} AS build-base-1
COPY --from=go /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:/root/go/bin:$PATH GOTOOLCHAIN=local

FROM build-base-${WHISPER_CUDA} AS build
ARG WHISPER_CUDA
# What --version prints (the build context holds no .git): docker build --build-arg VERSION=$(git describe --tags --always --dirty) .
ARG VERSION=dev
# What `make build` needs: the packages scripts/deps.sh lists for the whisper.cpp build, cgo and
# audio. `make -o deps` below skips deps.sh itself, which also installs the test tools (a browser,
# PostgreSQL, speech fixtures) that an image has no use for.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config git nodejs npm ca-certificates \
      portaudio19-dev libopus-dev libopusfile-dev libspeexdsp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN PORTABLE=1 WHISPER_CUDA=${WHISPER_CUDA} make -o deps build VERSION=${VERSION}

# Where it runs: only the shared libraries bin/ledgerline links (ldd), CA certificates for model
# downloads, webhooks and TLS to PostgreSQL, and time zones for meetings' dates.
FROM debian:${DEBIAN}-slim AS runtime-base-0

FROM nvidia/cuda:${CUDA_VERSION}-runtime-${CUDA_OS} AS runtime-base-1

FROM runtime-base-${WHISPER_CUDA}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libportaudio2 libopus0 libopusfile0 libspeexdsp1 libgomp1 libstdc++6 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --uid 10001 --home-dir /var/lib/ledgerline --shell /usr/sbin/nologin ledgerline \
 && install -d -o ledgerline -g ledgerline -m 0750 /var/lib/ledgerline
COPY --from=build /src/bin/ledgerline /usr/local/bin/ledgerline
# The data directory holds the record (SQLite), an embedded NATS server's store and token, and the
# models: one volume keeps them all.
ENV XDG_DATA_HOME=/var/lib LEDGERLINE_MODELS=/var/lib/ledgerline/models
USER ledgerline
WORKDIR /var/lib/ledgerline
VOLUME /var/lib/ledgerline
EXPOSE 8080
ENTRYPOINT ["ledgerline"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--db", "/var/lib/ledgerline/ledgerline-server.db"]
