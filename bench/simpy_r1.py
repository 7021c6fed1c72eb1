"""Model R1 (models/r1.toml) as a plain SimPy model: the way such a study is often written
in Python today, for comparison with hasim (bench/simpy.sh).

Four stages in series, each a process that alternates up (exponential time to failure)
and restarting (fixed 30 min; exponential 6 min; lognormal with mean 15 min and sigma 0.5;
exponential 3 min). The system is down while any stage is down; X is accumulated per
one-year history.

    python3 bench/simpy_r1.py [YEARS]       prints JSON: years, seconds, years_per_second,
                                            availability
"""

import json
import math
import random
import sys
import time

import simpy

HOUR = 3600.0
YEAR = 8760 * HOUR
STAGES = [
    # (mean time to failure, restart sampler)
    (2000 * HOUR, lambda r: 30 * 60.0),
    (500 * HOUR, lambda r: r.expovariate(1 / 360.0)),
    (1000 * HOUR, lambda r: r.lognormvariate(math.log(900.0) - 0.5**2 / 2, 0.5)),
    (800 * HOUR, lambda r: r.expovariate(1 / 180.0)),
]


def history(rng):
    env = simpy.Environment()
    state = {"down": 0, "since": 0.0, "x": 0.0}

    def stage(mttf, restart):
        while True:
            yield env.timeout(rng.expovariate(1 / mttf))
            if state["down"] == 0:
                state["since"] = env.now
            state["down"] += 1
            yield env.timeout(restart(rng))
            state["down"] -= 1
            if state["down"] == 0:
                state["x"] += env.now - state["since"]

    for mttf, restart in STAGES:
        env.process(stage(mttf, restart))
    env.run(until=YEAR)
    if state["down"] > 0:
        state["x"] += YEAR - state["since"]
    return state["x"]


def main():
    years = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(1)
    start = time.perf_counter()
    total_x = sum(history(rng) for _ in range(years))
    seconds = time.perf_counter() - start
    print(json.dumps({
        "years": years,
        "seconds": seconds,
        "years_per_second": years / seconds,
        "availability": 1 - total_x / (years * YEAR),
    }))


if __name__ == "__main__":
    main()
