#!/usr/bin/env bash
# The main job: make sure a model is there (pulling the default one if absent),
# then transcribe the bundled sample call.
set -uo pipefail
bin=$1
model=${2:-base}
sample=testdata/sample-call.wav

if path=$("$bin" models pull "$model"); then
  echo "model: $path" >&2
  exec "$bin" transcribe "$sample" --model "$path" --format vtt
fi

# Offline or the host is unreachable: show the pipeline working on a model
# with random weights instead, and say how to get a real one.
random=${XDG_CACHE_HOME:-$HOME/.cache}/ledgerline/ggml-random-test.bin
[ -f "$random" ] || "$bin" models make-random --shape test --out "$random"
cat >&2 <<MSG

The '$model' model could not be downloaded (see above). To fix it, run
  $bin models pull $model
on a machine with internet access, or pass a ggml model file you already have:
  $bin transcribe $sample --model /path/to/ggml-$model.bin

Meanwhile, here is the same pipeline on a model with RANDOM weights: the
words below are meaningless, the timings and the engine are real.

MSG
exec "$bin" transcribe "$sample" --model "$random" --format vtt --language en
