#!/usr/bin/env bash
# Installs the system packages the build and the tests need, when missing.
# Idempotent: a machine that has them all is left untouched.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git  # whisper.cpp build, cgo
  nodejs npm                            # fetches the whisper.cpp source package
  portaudio19-dev libopus-dev libopusfile-dev  # laptop capture, WebRTC audio
  pulseaudio                            # a null sink for the real capture test
  espeak-ng sox time                    # speech fixtures, audio checks, peak-memory figures
  chromium                              # the overlay page tested in a real browser
  postgresql                            # server binaries internal/pgtest runs tests against
)

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
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
