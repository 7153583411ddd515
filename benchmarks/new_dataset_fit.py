"""Does the cpu profile's original fit a small dataset it was not designed on? (issue 32)

The issue's held-out set, RetinaMNIST (5 classes, 1,080 training images), cannot be had offline;
a stand-in of the same shape is drawn from HAM10000's training split: its five most common
diagnoses, 1,080 images at random (seed 0), 28 px. The cpu profile's recipe (flips, 60 epochs,
the 800-step floor) trains it as an original is trained, with the fit target
(``originals.fit_target_for``: train on until eval-mode training accuracy reaches 0.97, or the
cap), and without it, from the same initialisation; the row says where each ended.

    OMP_NUM_THREADS=1 python benchmarks/new_dataset_fit.py --json benchmarks/results/new_dataset_fit.json
"""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1080)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "new_dataset_fit.json")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from unlearnlib.kinds.originals import fit_target_for, load_study_data, model_factory
    from unlearnlib.profiles import activate_compute_path, get_profile
    from unlearnlib.kinds.specs import OriginalSpec
    from unlearnlib.training import FitTargetMissed, Tensors, evaluate, fit

    profile = get_profile("cpu")
    path = activate_compute_path(profile)
    spec = OriginalSpec.from_profile(profile, "ham10000", args.seed)
    data = load_study_data(spec)
    train = data.split("train")
    labels = data.tensors.y[train].numpy()
    common = np.argsort(np.bincount(labels))[::-1][: args.classes]
    pool = train[np.isin(labels, common)]
    chosen = np.sort(np.random.default_rng(args.seed).choice(pool, size=args.size, replace=False))
    relabel = {int(c): i for i, c in enumerate(common)}
    subset = data.tensors.subset(chosen)
    subset = Tensors(subset.x, torch.tensor([relabel[int(y)] for y in subset.y]))
    rows = []
    for until in (None, fit_target_for(profile.name)):
        model = model_factory(spec, data.dataset)(args.seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitTargetMissed)
            history = fit(model, subset, profile.recipe, seed=args.seed, progress=False, path=path, until=until)
        rows.append({"rule": "fit target" if until else "fixed budget", "n_train": args.size, "classes": args.classes,
                     "majority_share": float(np.bincount(subset.y.numpy()).max() / args.size),
                     "scheduled_epochs": profile.recipe.epochs_for(args.size), "extra_epochs": history.extra_epochs,
                     "train_acc_eval": evaluate(model, subset, path=path).accuracy, "missed_target": history.missed_target,
                     "warned": [str(w.message) for w in caught], "seconds": history.seconds})
        print(json.dumps(rows[-1]), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
