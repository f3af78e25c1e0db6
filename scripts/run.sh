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

# The model file: MODEL=FILE as given; else the one at the model's place in the
# cache, whatever it is (a file of the user's own is used as it is, and never
# replaced, renamed or deleted here, online or not); else it is downloaded.
if [[ -f $model ]]; then
  path=$model
elif ! path=$("$bin" models pull "$model" --if-absent); then
  cat >&2 <<MSG

The '$model' speech model is not here and could not be downloaded (see above).
To fix it, run on a machine with internet access:
  $bin models pull $model
or pass a ggml model file you already have: $bin run --model /path/to/ggml-$model.bin

Meanwhile, the demo replays the bundled sample call's reference transcript
(labelled as such) into the live overlay.

MSG
  exec "$bin" demo --stay ${listen[@]+"${listen[@]}"}
fi
echo "Using the speech model $path" >&2

if "$bin" devices >/dev/null 2>&1; then
  exec "$bin" run --model "$path" ${listen[@]+"${listen[@]}"}
fi
echo "No audio input device on this machine: playing the bundled sample call instead ($sample)." >&2
exec "$bin" run --input "$sample" --model "$path" --stay ${listen[@]+"${listen[@]}"}
