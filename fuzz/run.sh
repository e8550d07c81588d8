#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 600), one after another, seeded with the kept inputs in
# tests/fixtures/fuzz/<target>/. A crash, a hang (an input over 1 s) or memory past 2 GB stops that target and
# leaves the input in fuzz/artifacts/<target>/: copy it into tests/fixtures/fuzz/<target>/ once fixed, so
# `cargo test --test bad_input` keeps it fixed on stable. Leak detection is off: a static built lazily on the
# first input that needs it reads as a leak, and memory that really grows trips the 2 GB limit.
#
#   cargo install cargo-fuzz        # once; needs the nightly toolchain
#   bash fuzz/run.sh 600            # ten minutes a target
#   bash fuzz/run.sh 60 curl token  # a minute for two of them
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(formats report nginx_format haproxy_format filter curl editor token)
fi
for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  cp -n tests/fixtures/fuzz/"$t"/* "fuzz/corpus/$t/" 2>/dev/null
  echo "== $t: $SECONDS_EACH s"
  cargo +nightly fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout=1 -rss_limit_mb=2048 -detect_leaks=0 -print_final_stats=1 2>&1 |
    grep -E "^(==|#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|artifact_prefix|Test unit written)" || true
done
