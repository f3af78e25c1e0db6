#!/usr/bin/env bash
# Prints the benchmark table: real-time factor and peak memory of
# `ledgerline transcribe` on 60 s of speech with a random-weight model of the
# tiny model's dimensions, beside whisper.cpp's own whisper-cli on the same
# file and model, in the same run. Run through `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WHISPER_CLI:?run through make bench}"
threads=${BENCH_THREADS:-2}
runs=${BENCH_RUNS:-5}
work=bin/bench
mkdir -p "$work"

go build -o bin/ledgerline ./cmd/ledgerline
model=$PWD/$work/ggml-random-tiny.bin
[ -f "$model" ] || bin/ledgerline models make-random --shape tiny --out "$model" 2>/dev/null
audio=$work/speech-60s.wav
[ -f "$audio" ] || sox testdata/sample-call.wav testdata/sample-call.wav "$audio" trim 0 60
seconds=$(soxi -D "$audio")

# once NAME CMD...: the wall time and peak RSS of one run.
once() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || {
    echo "bench: $name failed:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
  cat "$work/time.txt"
}

# best ROW NAME WALL KB: whichever of ROW ("NAME WALL KB", or empty) and the new run is faster.
best() {
  if [ -z "$1" ] || awk -v a="$3" -v b="$(cut -d' ' -f2 <<<"$1")" 'BEGIN{exit !(a<b)}'; then echo "$2 $3 $4"; else echo "$1"; fi
}

# with_goals BENCH GOALS FILE: the figures benchmark BENCH reported in FILE, one a row, beside their goals
# (GOALS: space-separated NAME<=LIMIT or NAME>=LIMIT) and whether each is met.
with_goals() {
  awk -v bench="^$1" -v goals="$2" '
    BEGIN {
      n = split(goals, g, " ")
      for (i = 1; i <= n; i++) if (match(g[i], /[<>]=/)) goal[substr(g[i], 1, RSTART - 1)] = substr(g[i], RSTART)
      printf "  %-36s %10s %10s %5s\n", "", "figure", "goal", "met"
    }
    $0 ~ bench {
      for (i = 5; i < NF; i += 2) {
        name = $(i+1); met = ""
        if (name in goal) {
          lim = substr(goal[name], 3) + 0
          met = (substr(goal[name], 1, 1) == "<" ? $i + 0 <= lim : $i + 0 >= lim) ? "yes" : "no"
        }
        printf "  %-36s %10s %10s %5s\n", name, $i, goal[name], met
      }
    }' "$3"
}

# Identical decoding on both sides: greedy, best-of 5, at most two
# temperature fallbacks (0, 0.5, 1.0), timestamps and token timestamps
# (whisper-cli computes those for its full JSON output), English; both on
# the CPU, also in a CUDA=1 build (transcribe decodes on the CPU).
# The two take turns, so that a shared machine's changing load falls on both
# alike; each keeps its best wall time and that run's peak RSS.
ours="" theirs=""
for _ in $(seq "$runs"); do
  t=$(once ledgerline bin/ledgerline transcribe "$audio" --model "$model" --language en \
    --threads "$threads" --fallbacks 2 --format json)
  ours=$(best "$ours" ledgerline $t)
  t=$(once whisper-cli "$WHISPER_CLI" -m "$model" -f "$audio" -l en -t "$threads" \
    -bs 1 -bo 5 -tpi 0.5 -ng -np -ojf -of "$work/whisper-cli")
  theirs=$(best "$theirs" whisper-cli $t)
done

echo
echo "Transcription of ${seconds%.*} s of speech, random-weight model of tiny's dimensions, $threads threads, best of $runs runs"
printf '%-30s %10s %8s %14s\n' "program" "wall (s)" "RTF" "peak RSS (MB)"
for row in "$ours" "$theirs"; do
  read -r label wall kb <<<"$row"
  printf '%-30s %10.2f %8.3f %14.1f\n' "$label" "$wall" "$(awk -v w="$wall" -v s="$seconds" 'BEGIN{print w/s}')" "$(awk -v k="$kb" 'BEGIN{print k/1024}')"
done
read -r _ w1 _ <<<"$ours"
read -r _ w2 _ <<<"$theirs"
echo
awk -v a="$w1" -v b="$w2" 'BEGIN { r = a / b
  printf "ledgerline / whisper-cli wall-time ratio (same settings): %.2f   goal <= 1.02, met: %s\n", r, r <= 1.02 ? "yes" : "no" }'

# Live pipeline: the sample call replayed at real time into a real WebSocket viewer, with two random models: what a
# random model says, and where, is its weights' accident, and the first-partial and encoder rows follow it.
model2=$PWD/$work/ggml-random-tiny-seed2.bin
[ -f "$model2" ] || bin/ledgerline models make-random --shape tiny --seed 2 --out "$model2" 2>/dev/null
live_goals="final-p50-ms<=1200 final-p95-ms<=1800 final-after-speech-p50-ms<=1200 final-after-speech-p95-ms<=1800 first-partial-p50-ms<=350 first-partial-after-speech-p50-ms<=350 encoder-amplification<=2"
echo
echo "Live pipeline: sample call (34 s) at real time, RANDOM-WEIGHT models of tiny's dimensions, latency from the end of the"
echo "words to their arrival at a WebSocket viewer (first partials: from the start of their segment's words), the words' times"
echo "as the model placed them (final-, partial-, first-partial-) and from the call's reference transcript (…-after-speech:"
echo "each line's end to its first final, its start to the first partial of a new segment). A random model places words"
echo "anywhere in its window; the seed-1 model says nothing until a window holds about a second, the seed-2 model says words"
echo "from windows under half a second, as a real model does once it hears one"
for m in "seed 1:$model" "seed 2:$model2"; do
  echo
  echo "${m%%:*}"
  LEDGERLINE_BENCH_MODEL=${m#*:} go test -run '^$' -bench 'LiveLatency' -benchtime 1x ./cmd/ledgerline >"$work/live.txt" 2>&1 || {
    cat "$work/live.txt" >&2; exit 1; }
  with_goals BenchmarkLiveLatency "$live_goals" "$work/live.txt"
done

# Fan-out: many viewers of one meeting.
if grep -q 'func BenchmarkFanout500' server/*_test.go 2>/dev/null; then
  echo
  echo "Fan-out: 500 WebSocket viewers of one meeting over loopback"
  go test -run '^$' -bench 'Fanout500' -benchtime 200x ./server >"$work/fanout.txt" 2>&1 || {
    cat "$work/fanout.txt" >&2; exit 1; }
  with_goals BenchmarkFanout500 "p99-µs<=50000" "$work/fanout.txt"
  echo "  (the viewers run in a process of their own; an event reaches every viewer within 50 ms at p99)"
fi

# Diarization: DER on synthetic mixed calls, and CPU time per minute of audio.
echo
echo "Diarization (weights-free default): mean DER over synthetic mixed calls, CPU per minute of audio"
go test -run '^$' -bench 'DER|DiarizeMinute' -benchtime 2x ./diarize >"$work/diarize.txt" 2>&1 || {
  cat "$work/diarize.txt" >&2; exit 1; }
awk '/^Benchmark/ { printf "  %s\n", $1; for (i = 3; i < NF; i += 2) printf "    %-18s %10s\n", $(i+1), $i }' "$work/diarize.txt"

# Speech detection: the rule-based detector beside the Silero VAD, behind the same segmenter.
echo
echo "Speech detection: rule-based vs Silero VAD v5 (whisper.cpp), same smoothing and segmenter"
go test -run '^$' -bench '^BenchmarkDetectors$' -benchtime 1x -timeout 20m ./vad >"$work/vad.txt" 2>&1 || {
  cat "$work/vad.txt" >&2; exit 1; }
if grep -q '^BenchmarkDetectors' "$work/vad.txt"; then
  awk '
    /^BenchmarkDetectors/ { for (i = 3; i < NF; i += 2) v[$(i+1)] = $i }
    function pr(d, k, s) { return sprintf("%5.1f / %5.1f", v[d "-" k "-" s "dB-P%"], v[d "-" k "-" s "dB-R%"]) }
    END {
      printf "  precision / recall (%%) of the speech regions reported, per 10 ms, on %d s of espeak-ng speech mixed with\n", v["speech-s"]
      printf "  each background (SNR: speech level over the background'"'"'s); silero: threshold 0.7 (the default), silero@0.5: Silero'"'"'s own 0.5\n"
      printf "  %-12s %6s %15s %15s %17s\n", "background", "SNR", "rule P / R", "silero P / R", "silero@0.5 P / R"
      nk = split("white pink brown music clicks", kinds, " ")
      ns = split("20 10 5 0", snrs, " ")
      for (k = 1; k <= nk; k++) for (s = 1; s <= ns; s++)
        printf "  %-12s %3s dB %15s %15s %17s\n", kinds[k], snrs[s], pr("rule", kinds[k], snrs[s]), pr("silero", kinds[k], snrs[s]), pr("silero0.5", kinds[k], snrs[s])
      printf "\n  %d s of non-speech (the backgrounds and breathing, at -20 and -35 dBFS)  %8s %8s %10s\n", v["nonspeech-s"], "rule", "silero", "silero@0.5"
      printf "  %-72s %8.1f %8.1f %10.1f\n", "audio passed to the recogniser (s)", v["rule-nonspeech-passed-s"], v["silero-nonspeech-passed-s"], v["silero0.5-nonspeech-passed-s"]
      printf "  %-72s %8d %8d %10d\n", "segments a RANDOM-WEIGHT Whisper model (test shape) made of it", v["rule-nonspeech-segments"], v["silero-nonspeech-segments"], v["silero0.5-nonspeech-segments"]
      printf "  %-72s %8.1f %8.1f %10.1f\n", "CPU seconds per hour of audio (detector and smoothing, one thread)", v["rule-cpu-s/h"], v["silero-cpu-s/h"], v["silero0.5-cpu-s/h"]
    }' "$work/vad.txt"
else
  echo "  skipped: $(grep -m1 -o 'the Silero VAD v5 weights are not at.*\|espeak-ng is not installed.*' "$work/vad.txt")"
fi

# Echo cancellation: a laptop call taken without headphones.
echo
echo "Echo cancellation (speexdsp, residual echo suppressed, delay measured by GCC-PHAT): synthetic laptop call, echo"
echo "120 ms late at -6 dB, low-passed, room noise; ERLE where only the remote side speaks, the seller kept in double-talk"
go test -run '^$' -bench '^BenchmarkCancel$' -benchtime 3x ./echo >"$work/echo.txt" 2>&1 || { cat "$work/echo.txt" >&2; exit 1; }
awk '/^BenchmarkCancel/ { for (i = 5; i < NF; i += 2) printf "  %-22s %10s\n", $(i+1), $i }' "$work/echo.txt"

# WebRTC ingest: participants one agent keeps up with (test model), and Opus decoding cost.
echo
echo "WHIP ingest: concurrent publishers at real time with the test model (sustained while p95 caption lag < 3 s)"
LEDGERLINE_BENCH_PUBLISHERS=${BENCH_PUBLISHERS:-1,2,4,8,16,32} go test -run '^$' -bench 'WHIPCapacity' -benchtime 1x \
  ./cmd/ledgerline >"$work/whip.txt" 2>&1 || { cat "$work/whip.txt" >&2; exit 1; }
with_goals BenchmarkWHIPCapacity "publishers-sustained>=32" "$work/whip.txt"
go test -run '^$' -bench 'OpusDecodeStream' -benchtime 2s ./ingest >"$work/opus.txt" 2>&1 || { cat "$work/opus.txt" >&2; exit 1; }
awk '/^BenchmarkOpusDecodeStream/ { printf "  Opus decode to 16 kHz frames: %s %s", $3, $4; for (i = 5; i < NF; i += 2) printf ", %s %s", $i, $(i+1); print "" }' "$work/opus.txt"

# Capacity from one core to two: the same two searches pinned to CPU 0, then to CPUs 0 and 1.
echo
echo "Capacity on one core and on two (taskset -c 0, then -c 0,1; decodes sized for the cores each sees, as run sizes"
echo "them): WHIP publishers with the test model, and live channels of the sample call with the RANDOM-WEIGHT tiny-shaped"
echo "model; publishers sustained while the p95 caption lag stays under 3 s, channels while their last final reaches"
echo "a WebSocket viewer within 3 s of the end of the audio"
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  go test -c -o "$work/cmd.test" ./cmd/ledgerline
  publishers=${BENCH_CAPACITY_PUBLISHERS:-4,8,16,24,32,48,64}
  channels=${BENCH_CAPACITY_CHANNELS:-2,3,4,6,8,12,16,24,32}
  for cpus in 0 0,1; do
    (cd cmd/ledgerline && LEDGERLINE_BENCH_MODEL=$model LEDGERLINE_BENCH_PUBLISHERS=$publishers \
      LEDGERLINE_BENCH_CHANNELS=$channels taskset -c "$cpus" "../../$work/cmd.test" -test.run '^$' \
      -test.bench '^Benchmark(WHIPCapacity|LiveChannels)$' -test.benchtime 1x -test.timeout 30m) >"$work/capacity-$cpus.txt" 2>&1 || {
      cat "$work/capacity-$cpus.txt" >&2; exit 1; }
  done
  # A count at the top of its search is a floor (">="): the machine may sustain more, and the growth from one core
  # to two is then not known. The publishers stop at 64: all come from one address, and the server bounds the
  # connections one address may hold.
  awk -v ptop="${publishers##*,}" -v ctop="${channels##*,}" '
    FNR == 1 { f++ }
    /^Benchmark(WHIPCapacity|LiveChannels)/ { for (i = 5; i < NF; i += 2) v[f, $(i+1)] = $i }
    function shown(n, top) { return (n >= top ? ">=" : "") sprintf("%d", n) }
    function row(label, key, top, goal,  growth) {
      growth = v[1, key] > 0 && v[1, key] < top ? sprintf("%s%.2f", v[2, key] >= top ? ">=" : "", v[2, key] / v[1, key]) : "-"
      printf "  %-36s %8s %8s %8s %14s\n", label, shown(v[1, key], top), shown(v[2, key], top), growth, goal
    }
    END {
      printf "  %-36s %8s %8s %8s %14s\n", "", "1 core", "2 cores", "2 / 1", "goal (2 cores)"
      row("WHIP publishers sustained", "publishers-sustained", ptop, ">= 32")
      row("tiny-model live channels sustained", "channels-sustained", ctop, ">= 3")
    }' "$work/capacity-0.txt" "$work/capacity-0,1.txt"
else
  echo "  skipped: needs taskset and at least two cores"
fi

# Team server: live meetings fed over WHIP with WebSocket viewers, on SQLite and PostgreSQL; laptops' imports.
if grep -q 'func BenchmarkTeamLive' team/*_test.go 2>/dev/null; then
  meetings=${BENCH_MEETINGS:-50}
  viewers=${BENCH_VIEWERS:-2000}
  echo
  echo "Team server: $meetings live meetings (one WHIP publisher each, ${LEDGERLINE_BENCH_SECONDS:-15} s of speech at real time), $viewers WebSocket viewers"
  echo "spread over them, RANDOM-WEIGHT TEST MODEL (figures of plumbing, not of transcription), $(nproc) cores, one process"
  LEDGERLINE_BENCH_MEETINGS=$meetings LEDGERLINE_BENCH_VIEWERS=$viewers go test -run '^$' -bench '^BenchmarkTeamLive$' -benchtime 1x \
    -timeout 30m ./team >"$work/team.txt" 2>&1 || { cat "$work/team.txt" >&2; exit 1; }
  awk '
    BEGIN {
      nrows = split("running-peak|meetings running at peak;viewers-dropped|viewers dropped as too slow;" \
        "events-stored|events stored;appends/s|appends/s while live (decode-bound);deliveries|stored events delivered;" \
        "deliveries-missed|deliveries missed;delivery-p50-ms|delivery p50 (ms, log accepts → viewer reads);" \
        "delivery-p99-ms|delivery p99 (ms);delivery-max-ms|delivery max (ms);" \
        "caption-lag-p50-ms|caption lag p50 (ms, end of words → viewer);caption-lag-p99-ms|caption lag p99 (ms);" \
        "speech-undecoded-%|speech dropped undecoded (%);meetings-truncated|meetings whose record ends early;rss-peak-MB|peak RSS (MB, whole process);" \
        "cpu-publishing-%|CPU while publishing (% of one core)", rows, ";")
    }
    function num(x) { return x == "" ? "-" : x == int(x) ? sprintf("%d", x) : sprintf("%.1f", x) }
    /^BenchmarkTeamLive\// {
      store = $1; sub(/.*store=/, "", store); sub(/-[0-9]+$/, "", store)
      stores[++n] = store
      for (i = 5; i < NF; i += 2) v[store, $(i+1)] = $i
    }
    END {
      printf "  %-48s", "random-weight test model"; for (s = 1; s <= n; s++) printf " %12s", stores[s]; print ""
      for (r = 1; r <= nrows; r++) {
        split(rows[r], kv, "|")
        printf "  %-48s", kv[2]
        for (s = 1; s <= n; s++) printf " %12s", num(v[stores[s], kv[1]])
        print ""
      }
    }' "$work/team.txt"
  echo "  (RSS and CPU are of the benchmark process: server, publishers and viewers together; PostgreSQL's own processes are not counted)"

  echo
  echo "Team server imports: appends/s through POST /api/v1/meetings/{id}/import, batches of 100 events (one transaction each)"
  go test -run '^$' -bench '^BenchmarkImport$' -benchtime 1x ./team >"$work/import.txt" 2>&1 || { cat "$work/import.txt" >&2; exit 1; }
  awk '
    BEGIN { printf "  %-10s %8s %12s %14s %14s\n", "store", "laptops", "events/s", "batch p50 ms", "batch p99 ms" }
    /^BenchmarkImport\// {
      split($1, p, "/"); store = p[2]; sub(/store=/, "", store); laptops = p[3]; sub(/laptops=/, "", laptops); sub(/-[0-9]+$/, "", laptops)
      for (i = 5; i < NF; i += 2) v[$(i+1)] = $i
      printf "  %-10s %8s %12.0f %14.1f %14.1f\n", store, laptops, v["events/s"], v["batch-p50-ms"], v["batch-p99-ms"]
    }' "$work/import.txt"
  echo "  (SQLite fsyncs every commit; the PostgreSQL test cluster runs without fsync)"
fi

# Remote decoding: live channels that decode slots keep up with, in this process and through
# asr-workers on the embedded broker (asr/remote), each figure of a pair from the same run.
probe=${LEDGERLINE_BENCH_PROBE_SECONDS:-30}
echo
echo "Remote decoding: live channels sustained at real time (p95 lag < 3 s over ${probe} s probes), random-weight model of"
echo "tiny's dimensions, $(nproc) cores, one process: in-process decoding vs the same engine through one asr-worker"
go test -run '^$' -bench '^BenchmarkRemoteCapacity$' -benchtime 1x -timeout 30m ./asr/remote >"$work/remote.txt" 2>&1 || {
  cat "$work/remote.txt" >&2; exit 1; }
awk '
  /^BenchmarkRemoteCapacity/ { for (i = 5; i < NF; i += 2) v[$(i+1)] = $i }
  END {
    printf "  %-40s %12s %12s\n", "random-weight tiny-shaped model", "in-process", "one worker"
    printf "  %-40s %12d %12d\n", "channels sustained", v["local-channels"], v["remote-channels"]
    printf "  %-40s %12.2f %12.2f\n", "channels per decode slot", v["local-channels/slot"], v["remote-channels/slot"]
    printf "  %-40s %12d %12d\n", "lag p95 at that load (ms)", v["local-lag-p95-ms"], v["remote-lag-p95-ms"]
    printf "  %-40s %12d %12d\n", "decode slots", v["slots"], v["slots"]
    printf "  %-40s %12d %12d\n", "threads per decode", v["threads/decode"], v["threads/decode"]
    printf "  one worker / in-process: %.2f (capacity lost through the worker: %.0f %%; target at most 10 %%)\n", v["remote/local"], v["capacity-lost-%"]
  }' "$work/remote.txt"

echo
echo "Remote decoding: the same measure through one asr-worker and through two (each its own engine, same slots and"
echo "threads), random-weight model of tiny's dimensions, all on the same $(nproc) cores"
go test -run '^$' -bench '^BenchmarkRemoteWorkers$' -benchtime 1x -timeout 30m ./asr/remote >"$work/workers.txt" 2>&1 || {
  cat "$work/workers.txt" >&2; exit 1; }
awk '
  /^BenchmarkRemoteWorkers/ { for (i = 5; i < NF; i += 2) v[$(i+1)] = $i }
  END {
    printf "  %-40s %12s %12s\n", "random-weight tiny-shaped model", "one worker", "two workers"
    printf "  %-40s %12d %12d\n", "channels sustained", v["1-worker-channels"], v["2-worker-channels"]
    printf "  %-40s %12.2f %12.2f\n", "channels per decode slot", v["1-worker-channels/slot"], v["2-worker-channels/slot"]
    printf "  %-40s %12d %12d\n", "lag p95 at that load (ms)", v["1-worker-lag-p95-ms"], v["2-worker-lag-p95-ms"]
    printf "  %-40s %12d %12d\n", "decode slots", v["slots/worker"], 2 * v["slots/worker"]
    printf "  %-40s %12d %12d\n", "threads per decode", v["threads/decode"], v["threads/decode"]
    printf "  two workers / one: %.2f (2.00 where each worker has cores of its own; here the two workers'"'"' %d decode threads\n",
      v["2/1-workers"], 2 * v["slots/worker"] * v["threads/decode"]
    printf "  share %d cores, which one worker'"'"'s %d already fill)\n", v["cores"], v["slots/worker"] * v["threads/decode"]
  }' "$work/workers.txt"

# Team server replicas: live delivery to many viewers from one replica and from two on one database.
rviewers=${LEDGERLINE_BENCH_REPLICA_VIEWERS:-5000}
echo
echo "Team server replicas on one PostgreSQL database (events between them over NATS): $rviewers WebSocket viewers of"
echo "${LEDGERLINE_BENCH_REPLICA_MEETINGS:-50} meetings, ${LEDGERLINE_BENCH_REPLICA_RATE:-100} events/s appended on the first replica for ${LEDGERLINE_BENCH_REPLICA_SECONDS:-10} s; two replicas split each"
echo "meeting's viewers; runs in the order one, two, two, one replicas, pooled; replicas, broker and viewers in one"
echo "process on $(nproc) cores (PostgreSQL apart)"
go test -run '^$' -bench '^BenchmarkTeamReplicas$' -benchtime 1x -timeout 30m ./team >"$work/replicas.txt" 2>&1 || {
  cat "$work/replicas.txt" >&2; exit 1; }
if grep -q '^BenchmarkTeamReplicas' "$work/replicas.txt"; then
  awk '
    BEGIN {
      nrows = split("p50-ms|delivery p50 (ms, from append to viewer);p99-ms|delivery p99 (ms);max-ms|delivery max (ms);" \
        "other-p50-ms|delivery p50, second replica'"'"'s viewers (ms);other-p99-ms|delivery p99, second replica'"'"'s viewers (ms);" \
        "deliveries|deliveries;missed|deliveries missed;viewers-dropped|viewers dropped as too slow;appends/s|appends/s;" \
        "rss-peak-MB|peak RSS (MB, whole process);cpu-%|CPU while delivering (% of one core)", rows, ";")
    }
    /^BenchmarkTeamReplicas/ { for (i = 5; i < NF; i += 2) v[$(i+1)] = $i }
    function num(x) { return x == "" ? "-" : x == int(x) ? sprintf("%d", x) : sprintf("%.1f", x) }
    END {
      printf "  %-48s %12s %12s\n", "", "one replica", "two replicas"
      for (r = 1; r <= nrows; r++) {
        split(rows[r], kv, "|")
        printf "  %-48s %12s %12s\n", kv[2], num(v["1-replica-" kv[1]]), num(v["2-replicas-" kv[1]])
      }
      printf "  two replicas / one: p50 %.2f, p99 %.2f (two replicas here share the cores one had: this is the cost of\n", v["p50-2/1"], v["p99-2/1"]
      printf "  the hop between replicas, not the gain of a second machine)\n"
    }' "$work/replicas.txt"
else
  echo "  skipped: PostgreSQL is not installed (make deps)"
fi
