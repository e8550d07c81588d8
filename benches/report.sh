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
source benches/common.sh
incident_log "$LOG" "$LINES"
BYTES=$(stat -c %s "$LOG")
cat "$LOG" > /dev/null # into the page cache

# measure RUNS CMD...: prints "seconds peak_kib cpu_seconds" of the fastest of RUNS runs
measure() {
  local runs=$1; shift
  local best="" mem="" cpu=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -o "$WORK/time.txt" -f "%e %M %U %S" "$@" > /dev/null 2>&1 || true
    local s m u k
    read -r s m u k < "$WORK/time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; mem=$m; cpu=$(awk "BEGIN{print $u + $k}"); fi
  done
  echo "$best $mem $cpu"
}

declare -A SECS MEM CPU LABEL
LABEL+=([wc]="wc -l" [gw]="gatewatch report --json" [gw1]="gatewatch report (1 thread)" [lnav]="lnav status count" [goaccess]="goaccess json")
row() { read -r "SECS[$1]" "MEM[$1]" "CPU[$1]" <<< "$2"; }
row wc "$(measure "$RUNS" wc -l "$LOG")"
row gw "$(measure "$RUNS" "$BIN" report --json "$LOG")"
row gw1 "$(measure 1 "$BIN" report --json --threads 1 "$LOG")"
if command -v lnav > /dev/null; then
  export HOME="$WORK" # lnav keeps state in ~/.lnav
  row lnav "$(measure 1 lnav -n -c ';SELECT sc_status, count(*) FROM access_log GROUP BY sc_status' "$LOG")"
fi
if [ -z "${SKIP_GOACCESS:-}" ] && command -v goaccess > /dev/null; then
  row goaccess "$(measure 1 goaccess "$LOG" -o "$WORK/report.json" --log-format=COMBINED)"
fi

printf '\nfile: %s, %d lines, %.2f GB, page cache, %d cores\n' "$LOG" "$(wc -l < "$LOG")" "$(awk -v b="$BYTES" 'BEGIN{print b/1e9}')" "$(nproc)"
printf '%-30s %9s %9s %10s %10s %14s\n' tool seconds cpu_s GB/s peak_MB "x gatewatch"
for k in wc gw gw1 lnav goaccess; do
  [ -n "${SECS[$k]:-}" ] || continue
  awk -v k="${LABEL[$k]}" -v s="${SECS[$k]}" -v c="${CPU[$k]}" -v m="${MEM[$k]}" -v b="$BYTES" -v g="${SECS[gw]}" \
    'BEGIN { printf "%-30s %9.2f %9.2f %10.2f %10.0f %14.2f\n", k, s, c, (s > 0 ? b/s/1e9 : 0), m/1024, s/g }'
done
