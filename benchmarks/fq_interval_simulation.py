"""How well the forgetting-quality interval covers, on simulated statistics (no models trained).

Simulates N = 32 models per side, 55 forget examples (the cpu profile's BreastMNIST sizes): the
retrained and reference sets from one distribution, the method's shifted by 1 sd with 0.7x the
spread. Prints (1) the spread of the relative score over fresh draws, the with-replacement
bootstrap's mean and sd on one draw, and (2) the half-sample interval's coverage of the
estimate's expected value over fresh draws. Run: python benchmarks/fq_interval_simulation.py
"""
from __future__ import annotations

import numpy as np

import unlearnlib.evaluation.fq as fq
import unlearnlib.evaluation.fq_interval as fq_interval

N, N_FORGET, SHIFT, SPREAD = 32, 55, 1.0, 0.7


def draw(rng, centers, shift=0.0, sd=1.0):
    return centers + shift + rng.normal(0, sd, (N, len(centers)))


def sets(rng, centers):
    return draw(rng, centers, SHIFT, SPREAD), draw(rng, centers), draw(rng, centers)


def ratio(unlearned, retrained, reference):
    score = fq_interval._quality(unlearned, retrained, None, None, fq.DELTA)
    return score / fq_interval._quality(reference, retrained, None, None, fq.DELTA)


def main(fresh: int = 20, replicates: int = 60, coverage_runs: int = 10) -> None:
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, N_FORGET)
    estimates = [ratio(*sets(rng, centers)) for _ in range(fresh)]
    expected, spread = float(np.mean(estimates)), float(np.std(estimates, ddof=1))
    print(f"relative score over {fresh} fresh draws: mean {expected:.3f}, sd {spread:.3f}")
    u, r, ref = sets(rng, centers)
    boot = np.random.default_rng(1)
    with_replacement = [ratio(*(x[boot.integers(0, N, N)] for x in (u, r, ref))) for _ in range(replicates)]
    print(f"one draw: estimate {ratio(u, r, ref):.3f}; with-replacement bootstrap mean "
          f"{np.mean(with_replacement):.3f}, sd {np.std(with_replacement, ddof=1):.3f}")
    covered, implied_sd = 0, []
    for run in range(coverage_runs):
        result = fq_interval.relative_forgetting_quality(*sets(rng, centers), n_boot=40, seed=run)
        covered += result.ci_low <= expected <= result.ci_high
        implied_sd.append((result.ci_high - result.relative_to_retrain) / 1.96)
    print(f"half-sample 95 % interval: covered {covered} of {coverage_runs}, implied sd {np.mean(implied_sd):.3f}")


if __name__ == "__main__":
    main()
