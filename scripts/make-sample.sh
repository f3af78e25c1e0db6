#!/usr/bin/env bash
# Synthesises the bundled sample joint call (vendor, partner and buyer voices)
# with espeak-ng and writes testdata/sample-call.wav (16 kHz mono, 16-bit) and
# testdata/sample-call.json, the reference transcript with times on the call's clock.
set -euo pipefail
cd "$(dirname "$0")/.."
out=testdata
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# speaker|role|voice|text
lines=(
  "Dana Whitfield|vendor|en-us+m3|Thanks for joining. Today we will walk through the integration plan for the data platform."
  "Ravi Menon|partner|en-gb+m1|Great. On our side we handle the deployment and the first line of support."
  "Laura Chen|buyer|en-us+f3|Our main concern is the single sign on setup and the security review."
  "Dana Whitfield|vendor|en-us+m3|Understood. I will send you the integration architecture by Thursday."
  "Ravi Menon|partner|en-gb+m1|And we will share the deployment checklist before the next call."
  "Laura Chen|buyer|en-us+f3|Can you also send the pricing for the enterprise tier?"
  "Dana Whitfield|vendor|en-us+m3|Sure, I will get that to you by Friday."
)

gap=0.7
t_ms=0
parts=()
echo "[" > "$tmp/ref.json"
for i in "${!lines[@]}"; do
  IFS='|' read -r speaker role voice text <<<"${lines[$i]}"
  espeak-ng -v "$voice" -s 160 -w "$tmp/raw$i.wav" "$text"
  sox "$tmp/raw$i.wav" -r 16000 -c 1 -b 16 "$tmp/line$i.wav"
  sox -n -r 16000 -c 1 -b 16 "$tmp/gap$i.wav" trim 0 "$gap"
  dur_ms=$(soxi -s "$tmp/line$i.wav" | awk '{printf "%d", $1/16}')
  sep=","
  [ "$i" -eq $((${#lines[@]} - 1)) ] && sep=""
  printf '  {"start_ms": %d, "end_ms": %d, "speaker": "%s", "role": "%s", "text": "%s"}%s\n' \
    "$t_ms" "$((t_ms + dur_ms))" "$speaker" "$role" "$text" "$sep" >> "$tmp/ref.json"
  gap_ms=$(awk -v g="$gap" 'BEGIN{printf "%d", g*1000}')
  t_ms=$((t_ms + dur_ms + gap_ms))
  parts+=("$tmp/line$i.wav" "$tmp/gap$i.wav")
done
echo "]" >> "$tmp/ref.json"
sox "${parts[@]}" "$out/sample-call.wav"
cp "$out/sample-call.wav" agent/sample/sample-call.wav
mv "$tmp/ref.json" "$out/sample-call.json"
cp "$out/sample-call.json" agent/sample/sample-call.json
echo "wrote $out/sample-call.wav ($(soxi -d "$out/sample-call.wav")) and $out/sample-call.json" >&2
