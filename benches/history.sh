#!/usr/bin/env bash
# The console on a big log, against `report` on the same file in the same run: a generated nginx log opened
# as `gatewatch --from-start FILE` opens it (its newest lines read at once, its history indexed apart on every
# core; see `--history` in console.rs), then scrolled end to end. Prints the three figures the console is held
# to, as ratios:
#   - history indexed, against `report`'s time on the same file (goal: under 2x);
#   - resident memory of the whole process after indexing and after scrolling end to end, against the file's
#     size (goal: under 0.10);
#   - the first screen, in seconds (goal: under 0.2 s, whatever the size);
# and the time `report --since 2m` takes to read the last two minutes (found by binary search), against
# `report` on the whole file.
#
#   bash benches/history.sh                     # 4.4 M requests, ~1.1 GB
#   REQUESTS=17600000 bash benches/history.sh   # ~4.4 GB
#   LOG=/path/to/access.log bash benches/history.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-4400000}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d /tmp/gatewatch-history.XXXXXX)}
LOG=${LOG:-$WORK/access.log}

cargo build --release --quiet
source benches/common.sh
bench=$(bench_exe console)
incident_log "$LOG" "$REQUESTS"
size=$(stat -c %s "$LOG")
printf 'file: %s, %d bytes\n' "$LOG" "$size"

# the median of RUNS timings (seconds) of a command
median() {
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f %e "$@" 2>&1 > /dev/null | tail -1
  done | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

figures=()
for _ in $(seq "$RUNS"); do
  cat "$LOG" > /dev/null # the same page cache for each
  figures+=("$("$bench" --history "$LOG" | tee /dev/stderr | grep '^figures:')")
done
report=$(median target/release/gatewatch report "$LOG")
since=$(median target/release/gatewatch report --since 2m "$LOG")
# the medians of the console's figures
pick() { printf '%s\n' "${figures[@]}" | awk -v k="$1" '{ for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }' |
  sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
indexed=$(pick indexed_s)
printf '\n%-44s %10s %10s\n' "" "seconds" "ratio"
printf '%-44s %10.2f %10s\n' "report, whole file (baseline)" "$report" "1.00"
printf '%-44s %10.2f %10.2f   goal < 2\n' "console: history indexed" "$indexed" "$(awk -v a="$indexed" -v b="$report" 'BEGIN { print a / b }')"
printf '%-44s %10.3f %10s   goal < 0.2 s\n' "console: first screen" "$(pick first_screen_s)" ""
printf '%-44s %10.3f %10.3f\n' "report --since 2m" "$since" "$(awk -v a="$since" -v b="$report" 'BEGIN { print a / b }')"
printf '\n%-44s %10s\n' "resident / file size" "ratio"
printf '%-44s %10.3f   goal < 0.10\n' "console: after indexing" "$(pick resident_indexed)"
printf '%-44s %10.3f   goal < 0.10\n' "console: after scrolling end to end" "$(pick resident_scrolled)"
