#!/usr/bin/env bash
# End-to-end benchmark of `gatewatch report` on a ~1 GB nginx log with request ids, read from the page cache,
# against `wc -l` (the ceiling: just counting lines), lnav and GoAccess on the same file in the same run.
#
#   bash benches/report.sh                 # all tools (GoAccess takes minutes)
#   SKIP_GOACCESS=1 bash benches/report.sh # skip the slow one
#   LINES=440000 bash benches/report.sh    # a 100 MB file for a quick look
#
# Needs: /usr/bin/time (package `time`), and for the comparison `goaccess` and `lnav` (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-4400000}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d /tmp/gatewatch-bench.XXXXXX)}
LOG="$WORK/access.log"

cargo build --release --quiet
BIN=target/release/gatewatch

if [ ! -s "$LOG" ]; then
  "$BIN" generate --format nginx --requests "$LINES" --rate 2000 --incident --seed 42 --gateway-out "$LOG"
fi
BYTES=$(stat -c %s "$LOG")
cat "$LOG" > /dev/null # into the page cache

# measure CMD...: prints "seconds peak_kib" of the best of RUNS runs
measure() {
  local runs=$1; shift
  local best="" mem=""
  for _ in $(seq "$runs"); do
    local out
    out=$( { /usr/bin/time -f "%e %M" "$@" > /dev/null 2>/dev/null; } 2>&1 | tail -n1)
    local s=${out% *} m=${out#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; mem=$m; fi
  done
  echo "$best $mem"
}

declare -A SECS MEM
row() { read -r SECS[$1] MEM[$1] <<< "$2"; }
row "wc -l" "$(measure "$RUNS" wc -l "$LOG")"
row "gatewatch report --json" "$(measure "$RUNS" "$BIN" report --json "$LOG")"
row "gatewatch report (1 thread)" "$(measure 1 "$BIN" report --json --threads 1 "$LOG")"
if command -v lnav > /dev/null; then
  export HOME="$WORK" # lnav keeps state in ~/.lnav
  row "lnav status count" "$(measure 1 lnav -n -c ';SELECT sc_status, count(*) FROM access_log GROUP BY sc_status' "$LOG")"
fi
if [ -z "${SKIP_GOACCESS:-}" ] && command -v goaccess > /dev/null; then
  row "goaccess json" "$(measure 1 goaccess "$LOG" -o "$WORK/report.json" --log-format=COMBINED)"
fi

GW=${SECS["gatewatch report --json"]}
printf '\nfile: %s, %d lines, %.2f GB, page cache, %d cores\n' "$LOG" "$(wc -l < "$LOG")" "$(echo "$BYTES/1000000000" | bc -l)" "$(nproc)"
printf '%-30s %9s %10s %12s %14s\n' tool seconds GB/s peak_MB "x gatewatch"
for k in "wc -l" "gatewatch report --json" "gatewatch report (1 thread)" "lnav status count" "goaccess json"; do
  [ -n "${SECS[$k]:-}" ] || continue
  awk -v k="$k" -v s="${SECS[$k]}" -v m="${MEM[$k]}" -v b="$BYTES" -v g="$GW" \
    'BEGIN { printf "%-30s %9.2f %10.2f %12.0f %14.2f\n", k, s, (s > 0 ? b/s/1e9 : 0), m/1024, s/g }'
done
