#!/usr/bin/env bash
# Throughput of hasim against the floor (../shared/bench/floor: the least work a
# simulator can do for model R1), measured in the same run on the same machine, and
# hasim's peak memory at two replication counts (it must not grow with them).
#
#   bench/floor.sh [REPLICATIONS] [THREADS] [RUNS]     defaults: 1000000, all cores, 5
#
# Prints the medians, the ratio hasim / floor (the goal is 1: the features cost nothing
# where a model does not use them) and hasim's peak memory at two replication counts.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
threads=${2:-0}
runs=${3:-5}
floor_dir=${FLOOR_DIR:-../shared/bench/floor}

cargo build --release --quiet
cargo build --release --quiet --manifest-path "$floor_dir/Cargo.toml" --target-dir target/floor

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# The two alternate, RUNS times each, and the medians are compared: hasim's speed varies
# by up to ±20 % from run to run with where the allocator and the stack land (address
# layout randomisation; with `setarch -R` it is steady), the floor's much less.
floor_args=("$n")
[ "$threads" -gt 0 ] && floor_args+=("$threads")
floors=() hasims=()
for _ in $(seq "$runs"); do
  floor_json=$(target/floor/release/floor "${floor_args[@]}")
  floors+=("$(sed -E 's/.*"years_per_second":([0-9.]+).*/\1/' <<<"$floor_json")")
  hasim_json=$(target/release/hasim run models/r1.toml --replications "$n" --threads "$threads" --format json)
  hasims+=("$(python3 -c 'import json,sys; print(json.load(sys.stdin)["perf"]["years_per_second"])' <<<"$hasim_json")")
done
echo "floor (last run): $floor_json"
hasim_avail=$(python3 -c 'import json,sys; a=json.load(sys.stdin)["availability"]; print(a["mean"], "±", a["std_err"])' <<<"$hasim_json")
echo "hasim availability $hasim_avail (analytic 0.999237875)"
python3 - "${floors[*]}" "${hasims[*]}" <<'PY'
import statistics, sys
floor = [float(x) for x in sys.argv[1].split()]
hasim = [float(x) for x in sys.argv[2].split()]
f, h = statistics.median(floor), statistics.median(hasim)
print(f"floor years/s: median {f:.0f} over {len(floor)} runs (min {min(floor):.0f}, max {max(floor):.0f})")
print(f"hasim years/s: median {h:.0f} over {len(hasim)} runs (min {min(hasim):.0f}, max {max(hasim):.0f})")
print(f"ratio hasim/floor: {h / f:.2f} (medians; run by run {', '.join(f'{a / b:.2f}' for a, b in zip(hasim, floor))})")
PY

if [ -x /usr/bin/time ]; then
  for m in $((n / 10)) "$n"; do
    kb=$( { /usr/bin/time -f '%M' target/release/hasim run models/r1.toml --replications "$m" \
            --threads "$threads" --format json >/dev/null; } 2>&1 | tail -1)
    echo "hasim peak memory at $m replications: $((kb / 1024)) MiB"
  done
fi
