"""Wall time of every unlearning method on one forget set, without any result cache.

Trains (or loads) the profile's original model, then times each method on a random
forget set, reporting seconds and RTE (retrain time / method time).

    python benchmarks/method_times.py [--profile cpu] [--dataset ham10000] [--fraction 0.1]
"""
from __future__ import annotations

import argparse

import pandas as pd

from unlearnlib.algorithms import available, unlearn
from unlearnlib.kinds.originals import load_study_data, original_model
from unlearnlib.profiles import get_profile
from unlearnlib.kinds.runner import unlearning_task
from unlearnlib.scenarios import random_fraction
from unlearnlib.kinds.specs import OriginalSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--dataset", default="ham10000")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    spec = OriginalSpec.from_profile(get_profile(args.profile), args.dataset, args.seed)
    data = load_study_data(spec)
    original, _ = original_model(spec, data, progress=False)
    split = random_fraction(data.dataset, fraction=args.fraction, seed=args.seed)
    task = unlearning_task(spec, data, original, split)
    rows = [{"method": name, "seconds": unlearn(name, task, seed=args.seed).seconds} for name in available()]
    table = pd.DataFrame(rows)
    table["rte"] = table.loc[table.method == "retrain", "seconds"].iloc[0] / table["seconds"]
    print(f"{args.dataset}, profile {args.profile}, forget {len(split.forget)} of {len(split.forget) + len(split.retain)} training images")
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
