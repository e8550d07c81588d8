#!/usr/bin/env bash
# Does a big `report` hurt the gateway on the host it runs on? A real nginx on loopback serves a fixed load
# (`nginx_load`: RATE requests a second for SECONDS, open loop), three times: alone, with `gatewatch report` on a
# ~1 GB log running again and again beside it at its default priority (nice 10, I/O best-effort 7, page cache
# spared, fewer threads under load), and the same with `--priority normal`. Prints the gateway's p99 latency in
# each run and its ratio to the run alone. Loopback only; nginx runs as this user from a temporary directory.
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
alone=$(run)
low=$(run --json) # the default priority; --json so printing costs the same in both
normal=$(run --json --priority normal)
again=$(run)
printf '\n%-44s %10s %8s\n' "gateway p99" "µs" "ratio"
printf '%-44s %10s %8s\n' "alone" "$alone" "1.00"
printf '%-44s %10s %8.2f\n' "beside report (default: low priority)" "$low" "$(awk -v a="$low" -v b="$alone" 'BEGIN { print a / b }')"
printf '%-44s %10s %8.2f\n' "beside report --priority normal" "$normal" "$(awk -v a="$normal" -v b="$alone" 'BEGIN { print a / b }')"
printf '%-44s %10s %8.2f\n' "alone again (the machine's drift)" "$again" "$(awk -v a="$again" -v b="$alone" 'BEGIN { print a / b }')"
