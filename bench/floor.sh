#!/usr/bin/env bash
# Throughput of hasim against the floor (bench/floor: the least work a
# simulator can do for model R1), measured in the same run on the same machine — hasim as
# `run` picks its engine (the timeline engine: R1's replicas are independent) and with
# `--engine events` (the general event engine) — and hasim's peak memory at two
# replication counts (it must not grow with them).
#
#   bench/floor.sh [REPLICATIONS] [THREADS] [RUNS]     defaults: 1000000, all cores, 5
#
# Prints the medians, the ratios hasim / floor (the goal is 1: the features cost nothing
# where a model does not use them) and hasim's peak memory at two replication counts.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
threads=${2:-0}
runs=${3:-5}
floor_dir=${FLOOR_DIR:-bench/floor}

cargo build --release --quiet
cargo build --release --quiet --manifest-path "$floor_dir/Cargo.toml" --target-dir target/floor

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# The three alternate, RUNS times each, and the medians are compared: hasim's speed
# varies by up to ±20 % from run to run with where the allocator and the stack land
# (address layout randomisation; with `setarch -R` it is steady), the floor's less.
floor_args=("$n")
[ "$threads" -gt 0 ] && floor_args+=("$threads")
floors=() autos=() events=()
hasim_yps() {
  hasim_json=$(target/release/hasim run models/r1.toml --replications "$n" --threads "$threads" --format json "$@")
  python3 -c 'import json,sys; print(json.load(sys.stdin)["perf"]["years_per_second"])' <<<"$hasim_json"
}
for _ in $(seq "$runs"); do
  floor_json=$(target/floor/release/floor "${floor_args[@]}")
  floors+=("$(sed -E 's/.*"years_per_second":([0-9.]+).*/\1/' <<<"$floor_json")")
  autos+=("$(hasim_yps)")
  events+=("$(hasim_yps --engine events)")
done
echo "floor (last run): $floor_json"
for engine in auto events; do
  hasim_json=$(target/release/hasim run models/r1.toml --replications "$n" --threads "$threads" --format json --engine "$engine")
  python3 -c 'import json,sys; d=json.load(sys.stdin); a=d["availability"]; print("hasim (%s engine) availability %.9f ± %.1e (analytic 0.999237875)" % (d["perf"]["engine"], a["mean"], a["std_err"]))' <<<"$hasim_json"
done
python3 - "${floors[*]}" "${autos[*]}" "${events[*]}" <<'PY'
import statistics, sys
floor, auto, events = ([float(x) for x in a.split()] for a in sys.argv[1:])
f = statistics.median(floor)
print(f"floor years/s: median {f:.0f} over {len(floor)} runs (min {min(floor):.0f}, max {max(floor):.0f})")
for name, h in (("hasim (auto: timelines)", auto), ("hasim --engine events", events)):
    m = statistics.median(h)
    print(f"{name} years/s: median {m:.0f} (min {min(h):.0f}, max {max(h):.0f}); "
          f"ratio to the floor {m / f:.2f} (run by run {', '.join(f'{a / b:.2f}' for a, b in zip(h, floor))})")
PY

if [ -x /usr/bin/time ]; then
  for m in $((n / 10)) "$n"; do
    kb=$( { /usr/bin/time -f '%M' target/release/hasim run models/r1.toml --replications "$m" \
            --threads "$threads" --format json >/dev/null; } 2>&1 | tail -1)
    echo "hasim peak memory at $m replications: $((kb / 1024)) MiB"
  done
fi
