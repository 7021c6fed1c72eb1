#!/usr/bin/env bash
# The event engine's throughput on the models people use (seed, ha), this checkout against
# an older commit, built and run alternately in the same run on the same machine, so that
# the ratio new / old means something on a noisy machine (medians of RUNS runs each).
#
#   bench/engines.sh [OLD_COMMIT] [RUNS] [THREADS]     defaults: HEAD~1 (or $HASIM_BASE), 5, all cores
#
# MODELS (default "seed ha") names the models of models/ to run, ENGINE (default events)
# the engine to run them on (auto: as `run` picks it), e.g. the timeline engine on R1:
#   MODELS=r1 ENGINE=auto bench/engines.sh 877dc38 9 2
#
# The old commit is built in a worktree under target/engines-old (kept between runs, so a
# second run only rebuilds what changed). Prints each model's years/s for both binaries,
# the ratio, and whether the two gave the same availability (they must, unless a commit
# between them changed what a model means: then say which).
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:-${HASIM_BASE:-HEAD~1}}
runs=${2:-5}
threads=${3:-0}
old_rev=$(git rev-parse --short "$old")
old_dir=target/engines-old

cargo build --release --quiet
if [ ! -e "$old_dir/.git" ]; then
  git worktree add --detach --force "$old_dir" "$old_rev" >/dev/null
else
  git -C "$old_dir" checkout --quiet --detach "$old_rev"
fi
cargo build --release --quiet --manifest-path "$old_dir/Cargo.toml" --target-dir target/engines-old-target
new_bin=target/release/hasim
old_bin=target/engines-old-target/release/hasim

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "new: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')   old: $old_rev"

# Enough years for a few seconds a run on 2 cores.
declare -A years=([seed]=400000 [ha]=150000 [r1]=1000000)
models=${MODELS:-seed ha}
engine=${ENGINE:-events}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for _ in $(seq "$runs"); do
  for model in $models; do
    for which in old new; do
      bin=$new_bin
      [ "$which" = old ] && bin=$old_bin
      "$bin" run "models/$model.toml" --engine "$engine" --method plain --replications "${years[$model]:-100000}" \
        --threads "$threads" --format json |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(sys.argv[1], sys.argv[2], d["perf"]["years_per_second"], repr(d["availability"]["mean"]))' \
          "$model" "$which" >>"$results"
    done
  done
done
python3 - "$results" "$engine" $models <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
engine = sys.argv[2]
for model in sys.argv[3:]:
    yps = {w: [float(r[2]) for r in rows if r[0] == model and r[1] == w] for w in ("old", "new")}
    avail = {w: {r[3] for r in rows if r[0] == model and r[1] == w} for w in ("old", "new")}
    o, n = statistics.median(yps["old"]), statistics.median(yps["new"])
    same = "the same availability" if avail["old"] == avail["new"] else \
        f"different availability (old {sorted(avail['old'])}, new {sorted(avail['new'])})"
    print(f"{model:5} {engine} engine years/s: old {o:8.0f}  new {n:8.0f}  ratio new/old {n / o:.2f} "
          f"(run by run {', '.join(f'{b / a:.2f}' for a, b in zip(yps['old'], yps['new']))}); {same}")
PY
