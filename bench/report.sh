#!/usr/bin/env bash
# How long `hasim report` takes for the bundled models (goal for the seed: well under a
# minute on a 2-core machine), with the replications per point it used.
#
#   bench/report.sh [REPLICATIONS_PER_POINT]     default 2000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
cargo build --release --quiet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for model in seed ha; do
  out=$(mktemp -d)
  start=$(date +%s.%N)
  target/release/hasim report "models/$model.toml" --out "$out" --replications "$n" 2>/dev/null >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'hasim report models/$model.toml: {float($end) - float($start):.1f} s with $n histories per point')"
  rm -rf "$out"
done
