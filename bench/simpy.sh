#!/usr/bin/env bash
# hasim against a plain SimPy model of R1 (bench/simpy_r1.py), in the same run on the
# same machine: years simulated per second, one core each, and hasim on every core.
#
#   bench/simpy.sh [SIMPY_YEARS] [HASIM_YEARS]     defaults: 5000, 1000000
# Needs SimPy (`pip install simpy`).
set -euo pipefail
cd "$(dirname "$0")/.."
simpy_years=${1:-5000}
hasim_years=${2:-1000000}
cargo build --release --quiet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(python3 -c 'import simpy, sys; print("SimPy", simpy.__version__, "on Python", sys.version.split()[0])')"
yps() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["years_per_second"] if "years_per_second" in d else d["perf"]["years_per_second"])'; }
simpy=$(python3 bench/simpy_r1.py "$simpy_years" | yps)
one=$(target/release/hasim run models/r1.toml -n "$hasim_years" --threads 1 --format json | yps)
all=$(target/release/hasim run models/r1.toml -n "$hasim_years" --format json | yps)
python3 - "$simpy" "$one" "$all" <<'PY'
import sys
simpy, one, all_ = map(float, sys.argv[1:])
print(f"SimPy, one core:       {simpy:12.0f} years/s")
print(f"hasim, one core:       {one:12.0f} years/s   {one / simpy:6.0f} x SimPy")
print(f"hasim, every core:     {all_:12.0f} years/s   {all_ / simpy:6.0f} x SimPy")
PY
