"""What fewer tuning trials would have found: the best objective after k of the 20 trials (issue 20, item 4).

Reads the ledger's tuning rows (each keeps its trials in order: parameters, objective value,
seconds) and, for every tuning run of a profile, takes the best value among its first k trials.
A cheaper budget is sound for a run when its best-of-k is within ``--tolerance`` of its
best-of-all (the objective is the average gap to retraining on the tuning split: 0.005 is half a
point of accuracy). Prints, per k, the share of runs that hold, the worst loss, and the share of
the tuning time spent. Nothing is trained: it is a retrospective on trials already run, so it
measures a smaller budget of the same sampler, not pruning or warm starts (which change which
trials are run).

    python benchmarks/tuning_budget.py [--profile cpu] [--tolerance 0.005] [--json out.json]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from unlearnlib.results.ledger import Ledger

BUDGETS = (5, 8, 10, 12, 15)


def best_after(trials: list[dict], k: int) -> float:
    values = [t["value"] for t in trials[:k] if t.get("value") is not None and np.isfinite(t["value"])]
    return min(values) if values else float("inf")


def budget_table(tuning: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    rows = []
    for run in tuning.to_dict("records"):
        trials = sorted(json.loads(run["trials"]), key=lambda t: t["number"])
        full = best_after(trials, len(trials))
        seconds = [float(t.get("seconds") or 0.0) for t in trials]
        for k in BUDGETS:
            if k >= len(trials):
                continue
            loss = best_after(trials, k) - full
            rows.append({"dataset": run["dataset"], "method": run["method"], "forget_size": run["forget_size"], "k": k,
                         "n_trials": len(trials), "loss": loss, "holds": loss <= tolerance,
                         "time_share": sum(seconds[:k]) / max(sum(seconds), 1e-9)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--tolerance", type=float, default=0.005)
    parser.add_argument("--json", help="also write the per-run table here")
    args = parser.parse_args()
    tuning = Ledger().table("tuning")
    tuning = tuning[tuning["profile"].astype(str) == args.profile]
    if tuning.empty:
        raise SystemExit(f"the ledger has no tuning rows of profile {args.profile!r}")
    table = budget_table(tuning, args.tolerance)
    summary = table.groupby("k").agg(runs=("holds", "size"), holds=("holds", "mean"), worst_loss=("loss", "max"),
                                     median_loss=("loss", "median"), time_share=("time_share", "mean"))
    print(f"{len(tuning)} tuning runs of profile {args.profile} ({', '.join(sorted(tuning['dataset'].unique()))}); "
          f"a budget of k trials holds when its best is within {args.tolerance} of the best of all trials\n")
    print("| trials | runs | best within tolerance | worst loss | median loss | share of the tuning time |\n|---|---|---|---|---|---|")
    for k, r in summary.iterrows():
        print(f"| {k} | {int(r.runs)} | {r.holds:.0%} | {r.worst_loss:.3f} | {r.median_loss:.4f} | {r.time_share:.0%} |")
    failing = table[(table.k == 10) & ~table.holds]
    if len(failing):
        print("\nruns where 10 trials fall short: " + "; ".join(
            f"{r.dataset} {r.method} ({r.forget_size} images) +{r.loss:.3f}" for r in failing.itertuples()))
    if args.json:
        table.to_json(args.json, orient="records", indent=1)


if __name__ == "__main__":
    main()
