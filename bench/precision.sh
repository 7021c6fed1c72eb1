#!/usr/bin/env bash
# Time to a relative precision (default ±10 %, 95 %) on the unavailability, by plain
# simulation and by importance splitting, in one run, alternating, and their ratio; and
# what `--method auto` chooses. A run still short of the precision after LIMIT seconds is
# stopped and printed as `timeout`.
#
#   bench/precision.sh [MODEL...]     env: REL=0.1 LIMIT=120 ROUNDS=3 THREADS=0
set -euo pipefail
cd "$(dirname "$0")/.."
rel=${REL:-0.1}
limit=${LIMIT:-120}
rounds=${ROUNDS:-3}
threads=${THREADS:-0}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(models/ha.toml models/rare-1of3.toml)
cargo build --release --quiet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# One run: seconds to the precision (or a projection past LIMIT), as "seconds reached".
time_to() {
  local model=$1 method=$2
  timeout "$limit" target/release/hasim run "$model" --method "$method" --precision "$rel" \
    --threads "$threads" --format json 2>/dev/null |
    REL="$rel" python3 -c '
import json, os, sys
d = json.load(sys.stdin)
print("%.3f %s %s" % (d["perf"]["wall_seconds"], d["stopping"]["relative_half_width"], d["replications"]))' 2>/dev/null ||
    echo "timeout"
}
for m in "${models[@]}"; do
  target/release/hasim run "$m" -n 32000 --threads "$threads" --format json 2>/dev/null |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print("%s: auto chooses %s" % (d["model"], d["estimation"]["reason"]))'
  plain=() split=()
  for ((r = 0; r < rounds; r++)); do
    p=$(time_to "$m" plain); s=$(time_to "$m" splitting)
    echo "  round $r: plain ${p}; splitting ${s}   (seconds, relative half-width, histories)"
    plain+=("${p%% *}"); split+=("${s%% *}")
  done
  PLAIN="${plain[*]}" SPLIT="${split[*]}" LIMIT="$limit" python3 -c '
import os, statistics
def med(name):
    v = [x for x in os.environ[name].split()]
    if "timeout" in v:
        return None
    return statistics.median(float(x) for x in v)
p, s = med("PLAIN"), med("SPLIT")
fmt = lambda x: "over %s s" % os.environ["LIMIT"] if x is None else "%.2f s" % x
ratio = "n/a" if p is None or s is None else "%.3g" % (p / s)
print("  median time to the precision: plain %s, splitting %s, plain/splitting %s" % (fmt(p), fmt(s), ratio))'
done
