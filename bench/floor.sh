#!/usr/bin/env bash
# Throughput of hasim against the floor (../shared/bench/floor: the least work a
# simulator can do for model R1), measured in the same run on the same machine, and
# hasim's peak memory at two replication counts (it must not grow with them).
#
#   bench/floor.sh [REPLICATIONS] [THREADS]     defaults: 1000000, all cores
#
# Prints one line per measurement and the ratio hasim / floor (goal: at least 0.5).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
threads=${2:-0}
floor_dir=${FLOOR_DIR:-../shared/bench/floor}

cargo build --release --quiet
cargo build --release --quiet --manifest-path "$floor_dir/Cargo.toml" --target-dir target/floor

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
floor_args=("$n")
[ "$threads" -gt 0 ] && floor_args+=("$threads")
floor_json=$(target/floor/release/floor "${floor_args[@]}")
floor_yps=$(sed -E 's/.*"years_per_second":([0-9.]+).*/\1/' <<<"$floor_json")
echo "floor: $floor_json"

hasim_json=$(target/release/hasim run models/r1.toml --replications "$n" --threads "$threads" --format json)
hasim_yps=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["perf"]["years_per_second"])' <<<"$hasim_json")
hasim_avail=$(python3 -c 'import json,sys; a=json.load(sys.stdin)["availability"]; print(a["mean"], "±", a["std_err"])' <<<"$hasim_json")
echo "hasim: years_per_second $hasim_yps, availability $hasim_avail (analytic 0.999237875)"
python3 -c "print(f'ratio hasim/floor: {float($hasim_yps)/float($floor_yps):.2f}')"

if [ -x /usr/bin/time ]; then
  for m in $((n / 10)) "$n"; do
    kb=$( { /usr/bin/time -f '%M' target/release/hasim run models/r1.toml --replications "$m" \
            --threads "$threads" --format json >/dev/null; } 2>&1 | tail -1)
    echo "hasim peak memory at $m replications: $((kb / 1024)) MiB"
  done
fi
