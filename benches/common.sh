# What the benchmark scripts share; `source` it from the project's root, after `cargo build --release`.

# The path of the compiled bench target NAME (benches/NAME.rs), built first if need be.
bench_exe() {
  cargo bench --bench "$1" --no-run --message-format=json 2> /dev/null |
    grep -o "\"executable\":\"[^\"]*$1-[^\"]*\"" | tail -1 | cut -d'"' -f4
}

# Generate the nginx log of an incident, REQUESTS requests at 2,000 a second, into FILE, unless it is there.
incident_log() {
  local file=$1 requests=$2
  if [ ! -s "$file" ]; then
    target/release/gatewatch generate --format nginx --requests "$requests" --rate 2000 --incident --seed 42 \
      --gateway-out "$file"
  fi
}
