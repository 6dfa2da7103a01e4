"""Speed of crm_lib.roi's exact EMPC against empulse.metrics.empc_score (same values).

Run: .venv/bin/python benchmarks/roi.py
Prints one row per size: seconds per call (best of 5) for each and the ratio.
"""

from __future__ import annotations

import time

import numpy as np
from empulse.metrics import empc_score

from crm_lib.roi import empc


def _best(f, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'n':>9} {'crm_lib (s)':>12} {'empulse (s)':>12} {'ratio':>7} {'|diff|':>9}")
    for n in (7_043, 100_000, 1_000_000):
        y = (rng.random(n) < 0.27).astype(int)
        s = np.clip(0.35 * y + rng.random(n) * 0.8, 0, 1)
        ours = _best(lambda y=y, s=s: empc.empc(y, s))
        ref = _best(lambda y=y, s=s: empc_score(y, s))
        diff = abs(empc.empc(y, s).value - empc_score(y, s))
        print(f"{n:>9,} {ours:>12.4f} {ref:>12.4f} {ours / ref:>7.2f} {diff:>9.1e}")


if __name__ == "__main__":
    main()
