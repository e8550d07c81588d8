#!/usr/bin/env bash
# `gatewatch trace` on an id a stuck client repeated a million times, against `report` on the same file in the
# same run: the trace streams and keeps only the ends, so it costs about what one pass over the file costs.
#
#   bash benches/trace.sh                  # a ~420 MB nginx log, half of its lines carrying one id
#   LINES=400000 bash benches/trace.sh     # a quick look
#
# Needs: /usr/bin/time (package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-2000000}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d /tmp/gatewatch-bench.XXXXXX)}
LOG="$WORK/repeated.log"
ID=55555555555555555555555555555555

cargo build --release --quiet
BIN=target/release/gatewatch
if [ ! -s "$LOG" ]; then
  "$BIN" generate --format nginx --requests "$LINES" --rate 2000 --seed 42 --gateway-out - |
    awk -v id="$ID" 'NR % 2 == 0 { sub(/rid=[0-9a-f]+/, "rid=" id) } { print }' > "$LOG"
fi
cat "$LOG" > /dev/null # into the page cache

# the fastest of RUNS runs: "seconds peak_kib"
measure() {
  local best="" mem=""
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > /dev/null
    read -r s m < "$WORK/time"
    if [ -z "$best" ] || awk "BEGIN { exit !($s < $best) }"; then best=$s; mem=$m; fi
  done
  echo "$best $mem"
}

read -r rs rm < <(measure "$BIN" report --json "$LOG")
read -r ts tm < <(measure "$BIN" trace --json "$ID" "$LOG")
echo "file: $(du -h "$LOG" | cut -f1), $LINES lines, $((LINES / 2)) carrying $ID"
printf '%-22s %8s s %8s MB\n' "report --json" "$rs" "$((rm / 1024))"
printf '%-22s %8s s %8s MB   (%.2fx the time of report)\n' "trace --json ID" "$ts" "$((tm / 1024))" "$(awk "BEGIN { print $ts / $rs }")"
