"""Would a warm start from the neighbouring forget size's optimum tune as well with fewer trials? (issue 20, item 4)

The size curve (notebook 03) tunes every method at each forget fraction with 20 cold TPE
trials; notebook 02 has already tuned the 10 % fraction. A warm start would chain outwards from
there: each fraction first tries the best setting of its neighbour towards 10 % (5 % and 20 %
start from 10 %, 1 % from 5 %, 30 % from 20 %, ...), then searches on.

This scores that first, warm trial exactly as a tuning trial is scored (``TrialScorer``: the
same tuning split, seed and retrained model, from the cache), one method run per (method,
fraction), and compares with the committed cold runs. A warm start with a budget of k trials
is approximated by the best of the warm trial and the cold run's first k - 1 trials: TPE after
a warm trial would search near it, so this is a proxy (conservative where the warm setting is
good), not the search itself. A budget holds for a run when its best is within ``--tolerance``
of the 20-trial best (0.005, as ``tuning_budget.py``).

    python benchmarks/warm_start.py [--profile cpu] [--tolerance 0.005] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from tuning_budget import best_after
from unlearnlib.execution.plan import make_plan
from unlearnlib.kinds.runner import ResultStore, prepare, unlearned_model
from unlearnlib.kinds.specs import TuningSpec
from unlearnlib.results.store import ModelStore
from unlearnlib.execution.study import TUNING_FRACTION
from unlearnlib.kinds.tuning import TrialScorer, tuned_hyperparameters

BUDGETS = (1, 5, 8, 10, 12, 15)


def neighbour_towards(fraction: float, fractions: list[float], anchor: float) -> float:
    """The fraction next to ``fraction`` on the side of ``anchor`` (the already-tuned one)."""
    ordered = sorted(fractions)
    i = ordered.index(fraction)
    return ordered[i + 1] if fraction < anchor else ordered[i - 1]


def tuned_series(profile: str) -> dict[tuple, dict[float, tuple[TuningSpec, dict]]]:
    """(dataset, method, seed, objective) -> fraction -> (tuning spec, its ledger row), for the rows present."""
    results = ResultStore()
    series: dict[tuple, dict[float, tuple[TuningSpec, dict]]] = {}
    for need in make_plan(profile, ["02_main_benchmark", "03_forget_size"]).needs:
        if need.kind != "tuning" or need.pending:
            continue
        e = need.spec.experiment
        fraction = dict(e.scenario_params).get("fraction")
        if fraction is not None:
            key = (e.original.dataset, e.method, e.seed, need.spec.objective)
            series.setdefault(key, {})[float(fraction)] = (need.spec, results.load(need.spec))
    return series


def warm_rows(profile: str, tolerance: float) -> pd.DataFrame:
    models, results = ModelStore(), ResultStore()
    loaded = {}  # the study data of each original, loaded once, not once per method and fraction
    rows = []
    for (dataset, method, seed, objective), by_fraction in sorted(tuned_series(profile).items()):
        fractions = list(by_fraction)
        if TUNING_FRACTION not in by_fraction:
            continue
        for fraction in fractions:
            if fraction == TUNING_FRACTION:
                continue
            spec, row = by_fraction[fraction]
            source = neighbour_towards(fraction, fractions, TUNING_FRACTION)
            warm = tuned_hyperparameters(by_fraction[source][1])
            original = spec.experiment.original
            loaded[original], split, task = prepare(spec.experiment, loaded.get(original), models, ledger=results.ledger)
            retrained = unlearned_model(spec.experiment.retrain_spec(), task, split, models, progress=False)[0]
            score = TrialScorer.build(method, task, objective=objective, seed=spec.experiment.seed,
                                      retrained=retrained if objective == "retrain" else None)
            warm_value = score(warm)[0]
            trials = sorted(json.loads(row["trials"]), key=lambda t: t["number"])
            cold = best_after(trials, len(trials))
            for k in BUDGETS:
                best = min(warm_value, best_after(trials, k - 1)) if k > 1 else warm_value
                rows.append({"dataset": dataset, "method": method, "fraction": fraction, "from_fraction": source, "k": k,
                             "warm_value": warm_value, "cold_best": cold, "loss": best - cold, "holds": best - cold <= tolerance,
                             "cold_k_holds": best_after(trials, k) - cold <= tolerance})
            print(f"{dataset} {method} {fraction:g} (warm from {source:g}): warm trial {warm_value:.4f}, cold best of "
                  f"{len(trials)} {cold:.4f}", flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--tolerance", type=float, default=0.005)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = warm_rows(args.profile, args.tolerance)
    if table.empty:
        raise SystemExit("no size-curve tuning rows beside the 10 % tuning in the ledger: run notebook 03's tuning first")
    summary = table.groupby("k").agg(runs=("holds", "size"), warm_holds=("holds", "mean"), cold_holds=("cold_k_holds", "mean"),
                                     worst_warm_loss=("loss", "max")).reset_index()
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.json:
        args.json.write_text(json.dumps({"profile": args.profile, "tolerance": args.tolerance, "summary": summary.to_dict("records"),
                                         "runs": table.to_dict("records")}, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
