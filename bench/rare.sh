#!/usr/bin/env bash
# How long the rare-event methods take to estimate an unavailability near 1e-9:
# balanced failure biasing and importance splitting on models/rare-1of3.toml (exact
# 1.0271e-9), splitting on models/rare-general.toml (Weibull and lognormal times, steady
# state 9.970e-10), against plain simulation of the same model.
#
#   bench/rare.sh [CYCLES] [THREADS] [HISTORIES]     defaults: 1000000, all cores, 2000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
threads=${2:-0}
histories=${3:-2000}
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
target/release/hasim run models/rare-1of3.toml --method plain -n 100000 --threads "$threads" --format json |
  python3 -c '
import json, sys
d = json.load(sys.stdin)
print("plain: %d years in %.2f s: histories with an outage %s, availability %s"
      % (d["replications"], d["perf"]["wall_seconds"], d["outages"]["p_any"], d["availability"]["mean"]))'
splitting() {
  target/release/hasim run "$1" --method splitting -n "$histories" --threads "$threads" --format json |
    EXACT="$2" python3 -c '
import json, os, sys
d = json.load(sys.stdin)
a = d["availability"]
sp = d["estimation"]["splitting"]
print("splitting %s: %d histories in %.2f s (pilot %.2f s): U = %.4e (95%% CI %.4e .. %.4e, +-%.1f%%), %s %s, variance reduction %.2e per history, %.2e per unit of work, factors %s"
      % (d["model"], d["replications"], d["perf"]["wall_seconds"], sp["pilot_seconds"], 1 - a["mean"],
         1 - a["ci_high"], 1 - a["ci_low"], 100 * d["stopping"]["relative_half_width"], "steady state", os.environ["EXACT"],
         sp["variance_reduction"], sp["speedup"], [l["factor"] for l in sp["levels"]]))'
}
splitting models/rare-1of3.toml 1.0271e-9
splitting models/rare-general.toml "9.970e-10 (one-year mean a little below)"
