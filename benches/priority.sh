#!/usr/bin/env bash
# Does a big `report` hurt the gateway on the host it runs on? A real nginx on loopback serves a fixed load
# (`nginx_load`: RATE requests a second for SECONDS, open loop): alone; with `gatewatch report` on a ~1 GB log
# running again and again beside it at its default priority (the idle CPU class at nice 10, I/O best-effort 7,
# page cache left as found, fewer threads under load), once with the log in the page cache and once with it out
# of it (read from disk); the same with `--priority normal`; and alone again. Prints the gateway's p99 latency in
# each run and its ratio to the first run alone. Loopback only; nginx runs as this user from a temporary directory.
#
#   bash benches/priority.sh                  # 1,000 requests/s for 20 s per run
#   RATE=2000 SECONDS_PER_RUN=30 bash benches/priority.sh
#   LOG=/path/to/access.log bash benches/priority.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
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
trap 'kill "$(cat "$WORK/nginx/nginx.pid")" 2> /dev/null || true' EXIT
sleep 0.5

# run the load for one period, with `report ARGS` in a loop beside it (no ARGS: alone); print its p99 in µs
run() {
  local bg=
  if [ $# -gt 0 ]; then
    (while true; do target/release/gatewatch report "$@" "$LOG" > /dev/null; done) &
    bg=$!
    sleep 1 # the report under way
  fi
  local out
  out=$("$load" "$PORT" "$RATE" "$SECONDS_PER_RUN")
  if [ -n "$bg" ]; then
    kill "$bg"
    wait "$bg" 2> /dev/null || true
    pkill -f "gatewatch report .*$LOG" || true
  fi
  echo "$out" >&2
  echo "$out" | awk '{ for (i = 1; i < NF; i++) if ($i == "p99_us") print $(i + 1) }'
}

printf 'nginx on 127.0.0.1:%s, %s requests/s for %s s per run; report on %s (%d bytes), %d cores\n' \
  "$PORT" "$RATE" "$SECONDS_PER_RUN" "$LOG" "$(stat -c %s "$LOG")" "$(nproc)"
# the log out of the page cache, so that a run reads it from disk (GNU dd's nocache drops a file's pages)
uncache() { dd if="$LOG" iflag=nocache count=0 status=none; }

cat "$LOG" > /dev/null
alone=$(run)
hot=$(run --json) # the default priority, the log in the cache; --json so printing costs the same in all
uncache
cold=$(run --json) # the default leaves the cache as it found it: every run of the loop reads from disk
normal=$(run --json --priority normal)
again=$(run)
row() { printf '%-48s %10s %8.2f\n' "$1" "$2" "$(awk -v a="$2" -v b="$alone" 'BEGIN { print a / b }')"; }
printf '\n%-48s %10s %8s\n' "gateway p99" "µs" "ratio"
row "alone" "$alone"
row "beside report (default), log in the page cache" "$hot"
row "beside report (default), log read from disk" "$cold"
row "beside report --priority normal" "$normal"
row "alone again (the machine's drift)" "$again"
