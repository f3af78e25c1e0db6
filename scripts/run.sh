#!/usr/bin/env bash
# The main job: make sure a model is there (pulling the default one if absent),
# then capture the call live from this machine's devices and serve the overlay.
set -uo pipefail
bin=$1
model=${2:-base}
sample=testdata/sample-call.wav
# LISTEN=ADDR serves there (and fails if it is taken); unset, the default port
# or the next free one above it is used.
listen=()
if [[ -n ${LISTEN:-} ]]; then
  listen=(--listen "$LISTEN")
fi

if ! "$bin" models pull "$model" >/dev/null; then
  cat >&2 <<MSG

The '$model' speech model is not here and could not be downloaded (see above).
To fix it, run on a machine with internet access:
  $bin models pull $model
or pass a ggml model file you already have: $bin run --model /path/to/ggml-$model.bin

Meanwhile, the demo replays the bundled sample call into the live overlay.

MSG
  exec "$bin" demo --stay ${listen[@]+"${listen[@]}"}
fi

if "$bin" devices >/dev/null 2>&1; then
  exec "$bin" run --model "$model" ${listen[@]+"${listen[@]}"}
fi
echo "No audio input device on this machine: playing the bundled sample call instead ($sample)." >&2
exec "$bin" run --input "$sample" --model "$model" --stay ${listen[@]+"${listen[@]}"}
