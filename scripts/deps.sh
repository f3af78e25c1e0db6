#!/usr/bin/env bash
# Installs the system packages the build and the tests need, when missing.
# Idempotent: a machine that has them all is left untouched.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git  # whisper.cpp build, cgo
  nodejs npm                            # fetches the whisper.cpp source package
  portaudio19-dev libopus-dev libopusfile-dev  # laptop capture, WebRTC audio
  libspeexdsp-dev                       # echo cancellation of laptop capture
  pulseaudio pulseaudio-utils           # a null sink for the real capture tests (paplay, pactl)
  espeak-ng sox time                    # speech fixtures, audio checks, peak-memory figures
  ffmpeg flac opus-tools vorbis-tools lame  # Vorbis/WebM/M4A decoding; fixtures of every format
  chromium                              # the overlay page tested in a real browser
  postgresql                            # server binaries internal/pgtest runs tests against
)

# RELEASE=1 (make release-deps) adds what the release archives need: a cross compiler for the
# other architecture (amd64 and arm64 are released), that architecture's audio libraries through
# Debian's multiarch, and qemu-user to run its binary in the release test.
foreign=""
if [ "${RELEASE:-0}" = 1 ]; then
  case $(dpkg --print-architecture) in
    amd64) other=arm64 triplet=aarch64-linux-gnu ;;
    arm64) other=amd64 triplet=x86-64-linux-gnu ;;
    *) echo "deps: releases are built on amd64 or arm64" >&2; exit 1 ;;
  esac
  packages+=("gcc-$triplet" "g++-$triplet" qemu-user
    "libopus-dev:$other" "libopusfile-dev:$other" "portaudio19-dev:$other" "libspeexdsp-dev:$other")
  dpkg --print-foreign-architectures | grep -qx "$other" || foreign=$other
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A node/npm installed outside Debian's packages serves as well.
if command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
# So does any PostgreSQL server that internal/pgtest finds (same places).
if [ -x "${LEDGERLINE_PG_BIN:-/nonexistent}/initdb" ] || command -v initdb >/dev/null ||
   compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == postgresql ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  [ -n "$foreign" ] && $sudo dpkg --add-architecture "$foreign"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# The Silero VAD weights (fetched once, with npm) for the speech detection of runs and tests.
bash "$(dirname "$0")/silero.sh" >/dev/null
