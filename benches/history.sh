#!/usr/bin/env bash
# The console's resident memory with a whole log in one pane (as `gatewatch --from-start FILE` holds it), after
# loading every line and after scrolling end to end, as ratios to the file's size: this tree against the code of
# another commit (BASE), on the same generated ~1 GB nginx log, in the same run. See `--history` in console.rs.
#
#   bash benches/history.sh                   # 4.4 M requests, ~1 GB
#   REQUESTS=440000 bash benches/history.sh   # ~100 MB, for a quick look
#   BASE=<commit> bash benches/history.sh     # the code to compare with (default: before the text went to disk)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-4400000}
BASE=${BASE:-0bc5d35}
WORK=${WORK:-$(mktemp -d /tmp/gatewatch-history.XXXXXX)}
LOG="$WORK/access.log"

cargo build --release --quiet
if [ ! -s "$LOG" ]; then
  target/release/gatewatch generate --format nginx --requests "$REQUESTS" --rate 2000 --incident --seed 42 \
    --gateway-out "$LOG"
fi

# the path of the console bench's binary built in directory $1
bench_bin() {
  (cd "$1" && cargo bench --bench console --no-run --message-format=json 2> /dev/null) |
    grep -o '"executable":"[^"]*console-[^"]*"' | tail -1 | cut -d'"' -f4
}

# the base: its code with this bench, built beside this tree's (sharing its build directory)
if [ ! -x "$WORK/console-base" ]; then
  mkdir -p "$WORK/base"
  git archive "$BASE" | tar -x -C "$WORK/base"
  cp benches/console.rs "$WORK/base/benches/console.rs"
  cp "$(CARGO_TARGET_DIR="$PWD/target" bench_bin "$WORK/base")" "$WORK/console-base"
fi
cp "$(bench_bin .)" "$WORK/console-this"

cat "$LOG" > /dev/null # into the page cache
printf 'file: %s, %d bytes\n' "$LOG" "$(stat -c %s "$LOG")"
for which in base this; do
  echo "== $which$([ $which = base ] && echo " ($BASE)")"
  "$WORK/console-$which" --history "$LOG" | tee "$WORK/$which.txt"
done
read -r _ _ base_loaded _ base_scrolled < <(grep '^ratios:' "$WORK/base.txt")
read -r _ _ this_loaded _ this_scrolled < <(grep '^ratios:' "$WORK/this.txt")
printf '\n%-34s %10s %10s\n' "resident / file size" base this
printf '%-34s %10.3f %10.3f\n' "after loading" "$base_loaded" "$this_loaded"
printf '%-34s %10.3f %10.3f\n' "after scrolling end to end" "$base_scrolled" "$this_scrolled"
