#!/usr/bin/env bash
# How long balanced failure biasing takes to estimate an unavailability near 1e-9
# (models/rare-1of3.toml, exact 1.0271e-9), against plain simulation of the same model.
#
#   bench/rare.sh [CYCLES] [THREADS]     defaults: 1000000, all cores
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
threads=${2:-0}
cargo build --release --quiet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
target/release/hasim run models/rare-1of3.toml --method bfb -n "$n" --threads "$threads" --format json |
  python3 -c '
import json, sys
d = json.load(sys.stdin)
r = 1 / 1800
exact = 6 * r**3 / (1 + 3 * r + 6 * r * r + 6 * r**3)
u = d["unavailability"]
print("bfb: %d cycles in %.2f s: U = %.4e (95%% CI %.4e .. %.4e, +-%.1f%%), exact %.4e, variance reduction %.2e"
      % (d["cycles"], d["perf"]["wall_seconds"], u["mean"], u["ci_low"], u["ci_high"],
         100 * d["relative_half_width"], exact, d["variance_reduction"]))'
target/release/hasim run models/rare-1of3.toml -n 100000 --threads "$threads" --format json |
  python3 -c '
import json, sys
d = json.load(sys.stdin)
print("plain: %d years in %.2f s: histories with an outage %s, availability %s"
      % (d["replications"], d["perf"]["wall_seconds"], d["outages"]["p_any"], d["availability"]["mean"]))'
