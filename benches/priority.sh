#!/usr/bin/env bash
# Does a big `report` hurt the gateway on the host it runs on? A real nginx on loopback serves a fixed load
# (`nginx_load`: RATE requests a second for SECONDS_PER_RUN, open loop), and its p99 latency is measured alone and
# with `gatewatch report` on a ~1 GB log running again and again beside it: at the default priority (the idle
# CPU class at nice 10 in a session of its own weighed lowest, I/O best-effort 7, page cache left as found,
# fewer threads under load, slowed down while the hypervisor steals) once with the log in the page cache and once
# out of it (read from disk), and with `--priority normal`. A shared machine's latency drifts by more than what is
# measured, so the four runs are taken in turn, ROUNDS times, each ratio against the run alone of its own round;
# the medians are the result. Each run also gives the steal time: how long a hypervisor ran other guests while
# this machine's CPUs had work, which is what a virtual CPU kept busy costs on a shared host.
# Loopback only; nginx runs as this user from a temporary directory.
#
#   bash benches/priority.sh                       # 5 rounds, 1,000 requests/s for 10 s per run
#   ROUNDS=9 RATE=2000 SECONDS_PER_RUN=20 bash benches/priority.sh
#   LOG=/path/to/access.log bash benches/priority.sh
#   EXTRA='one thread|--threads 1' bash benches/priority.sh   # one more run per round: label|report options
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-5}
EXTRA=${EXTRA:-}
REQUESTS=${REQUESTS:-4400000}
WORK=${WORK:-$(mktemp -d /tmp/gatewatch-priority.XXXXXX)}
LOG=${LOG:-$WORK/access.log}
PORT=${PORT:-18181}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

cargo build --release --quiet
source benches/common.sh
load=$(bench_exe nginx_load)
incident_log "$LOG" "$REQUESTS"

mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" << EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$PORT;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
COLD=$WORK/access-cold.log
trap 'kill "$(cat "$WORK/nginx/nginx.pid")" 2> /dev/null || true; rm -f "$COLD"' EXIT
sleep 0.5

# run the load for one period, with `report ARGS` on FILE in a loop beside it (no ARGS: alone); print its p99 in µs
# and the steal meanwhile in ms, as P99/STEAL
run() {
  local file=$1
  shift
  local bg=
  if [ $# -gt 0 ]; then
    (while true; do target/release/gatewatch report "$@" "$file" > /dev/null; done) &
    bg=$!
    sleep 1 # the report under way
  fi
  local out before
  before=$(steal)
  out=$("$load" "$PORT" "$RATE" "$SECONDS_PER_RUN")
  out="$out steal_ms $((($(steal) - before) * 1000 / $(getconf CLK_TCK)))"
  if [ -n "$bg" ]; then
    kill "$bg"
    wait "$bg" 2> /dev/null || true
    pkill -f "gatewatch report .*$file" || true
  fi
  echo "$out" >&2
  echo "$out" | awk '{ for (i = 1; i < NF; i++) if ($i == "p99_us" || $i == "steal_ms") printf "%s%s", $(i + 1), ($i == "p99_us" ? "/" : "\n") }'
}

# The time the hypervisor ran something else while this machine's CPUs had work (`/proc/stat`), in clock ticks
steal() { awk '/^cpu / { print $9 }' /proc/stat; }

printf 'nginx on 127.0.0.1:%s, %s requests/s for %s s per run, %s rounds; report on %s (%d bytes), %d cores\n' \
  "$PORT" "$RATE" "$SECONDS_PER_RUN" "$ROUNDS" "$LOG" "$(stat -c %s "$LOG")" "$(nproc)"
# The same log twice: one copy in the page cache, the other out of it, so that a run reads it from disk. The
# default leaves the cache as it found it, so each copy stays as it is through the rounds (dropping a gigabyte of
# cache between runs would measure the host's reaction to that, not the report); a copy made with O_DIRECT never
# enters the cache.
cat "$LOG" > /dev/null
dd if="$LOG" of="$COLD" bs=1M oflag=direct status=none
dd if="$COLD" iflag=nocache count=0 status=none
sleep 5

labels=("alone" "beside report (default), log in the page cache" "beside report (default), log read from disk"
  "beside report --priority normal")
[ -n "$EXTRA" ] && labels+=("beside report ${EXTRA#*|} (${EXTRA%%|*})")
declare -a p99s # P99/STEAL of each run, round-major: p99s[round * ${#labels[@]} + variant]
for round in $(seq 1 "$ROUNDS"); do
  row=()
  row+=("$(run "$LOG")")
  row+=("$(run "$LOG" --json)") # --json so that printing costs the same in all
  row+=("$(run "$COLD" --json)")
  row+=("$(run "$LOG" --json --priority normal)") # reads through the cache: the copy there stays there
  # shellcheck disable=SC2086 # the options, split as words
  [ -n "$EXTRA" ] && row+=("$(run "$LOG" --json ${EXTRA#*|})")
  echo "round $round: p99 µs/steal ms ${row[*]}" >&2
  p99s+=("${row[@]}")
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
n=${#labels[@]}
printf '\n%-52s %10s %13s %15s   %s\n' "gateway p99" "median µs" "median ratio" "median steal ms" "ratios"
for v in $(seq 0 $((n - 1))); do
  values=() ratios=() steals=()
  for round in $(seq 0 $((ROUNDS - 1))); do
    value=${p99s[round * n + v]%/*} alone=${p99s[round * n]%/*}
    values+=("$value")
    steals+=("${p99s[round * n + v]#*/}")
    ratios+=("$(awk -v a="$value" -v b="$alone" 'BEGIN { printf "%.2f", a / b }')")
  done
  printf '%-52s %10s %13s %15s   %s\n' "${labels[v]}" "$(printf '%s\n' "${values[@]}" | median)" \
    "$(printf '%s\n' "${ratios[@]}" | median)" "$(printf '%s\n' "${steals[@]}" | median)" "${ratios[*]}"
done
