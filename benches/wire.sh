#!/usr/bin/env bash
# Bytes per second the console writes to its terminal — what crosses an SSH link — against lnav on the same log
# in the same run: following a log that grows at 10, 100 and 1,000 lines/s, idle, and while the user scrolls with
# keys. Each run is a 200x50 terminal (ROWS x COLS) under `script` for DURATION seconds; its typescript's size over the duration
# is the figure.
#
#   bash benches/wire.sh
#   BIN=/path/to/other/gatewatch bash benches/wire.sh   # another build, for a before/after
#   DURATION=10 bash benches/wire.sh
#   ROWS=24 COLS=80 bash benches/wire.sh                # another terminal size (panes stack below 120 columns)
#   GATEWATCH_NO_SCROLL_REGION=1 bash benches/wire.sh   # every moved row drawn again, for a before/after
#
# Needs: script (util-linux), awk, and lnav for the baseline (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
ROWS=${ROWS:-50}
COLS=${COLS:-200}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/gatewatch
fi
WORK=$(mktemp -d /tmp/gatewatch-wire.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
LINES="$WORK/lines.log"
"$BIN" generate --format nginx --requests 60000 --rate 1000 --seed 7 --gateway-out "$LINES" > /dev/null

# run NAME RATE KEYS CMD...: the console follows $WORK/access.log (1,000 lines of history) while a writer appends
# RATE lines a second (0: none) and, if KEYS, `k` is pressed 10 times a second; prints bytes/s
run() {
  local rate=$1 keys=$2; shift 2
  local log="$WORK/access.log" ts="$WORK/typescript"
  head -n 1000 "$LINES" > "$log"
  local writer=""
  if [ "$rate" -gt 0 ]; then
    # RATE lines a second, a tenth of them every 100 ms
    tail -n +1001 "$LINES" | awk -v n=$(( rate / 10 > 0 ? rate / 10 : 1 )) '{ print; fflush() } NR % n == 0 { system("sleep 0.1") }' >> "$log" &
    writer=$!
  fi
  local cmd
  cmd="stty rows $ROWS cols $COLS; timeout $DURATION $(printf '%q ' "$@") $log"
  if [ "$keys" = 1 ]; then
    (sleep 2; for _ in $(seq $(( (DURATION - 3) * 10 ))); do printf 'k'; sleep 0.1; done) | script -q -e -c "$cmd" "$ts" > /dev/null 2>&1 || true
  else
    script -q -e -c "$cmd" "$ts" < /dev/null > /dev/null 2>&1 || true
  fi
  if [ -n "$writer" ]; then kill "$writer" 2> /dev/null || true; wait "$writer" 2> /dev/null || true; fi
  echo $(( $(stat -c %s "$ts") / DURATION ))
}

printf '%-22s %14s %14s %8s\n' "case" "gatewatch B/s" "lnav B/s" "ratio"
for case in "idle 0 0" "10 lines/s 10 0" "100 lines/s 100 0" "1,000 lines/s 1000 0" "scrolling (k) 0 1"; do
  set -- $case
  if [ $# -eq 3 ]; then name=$1; rate=$2; keys=$3; else name="$1 $2"; rate=$3; keys=$4; fi
  gw=$(run "$rate" "$keys" "$BIN")
  if command -v lnav > /dev/null; then
    ln=$(run "$rate" "$keys" lnav)
    ratio=$(awk -v a="$gw" -v b="$ln" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  else
    ln="-"; ratio="-"
  fi
  printf '%-22s %14s %14s %8s\n' "$name" "$gw" "$ln" "$ratio"
done
