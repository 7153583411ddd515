"""Choose the cpu profile's model and recipe by measurement on HAM10000 at 28 px.

Trains each candidate (model, batch size, learning rate, epochs) on the lesion-level
training split and reports wall time, test accuracy, balanced accuracy and macro AUC.

    python benchmarks/choose_cpu_model.py --seeds 0 1 2 [--csv out.csv]
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools

import pandas as pd

from unlearnlib.data import load_dataset
from unlearnlib.evaluation.metrics import balanced_accuracy, macro_auc
from unlearnlib.models import create_model
from unlearnlib.profiles import get_profile
from unlearnlib.training import Tensors, evaluate, fit

CANDIDATES = [  # (model, batch size, learning rate, epochs)
    ("resnet_tiny", 128, 0.05, 30),
    ("resnet_tiny", 64, 0.1, 30),
    ("resnet_tiny", 64, 0.05, 30),
    ("resnet_tiny_nopool", 128, 0.05, 30),
    ("resnet_small", 128, 0.05, 30),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", help="run only this model")
    parser.add_argument("--csv")
    args = parser.parse_args()

    data = load_dataset("ham10000", image_size=28)
    tensors = Tensors.from_arrays(data.images, data.labels)
    train, test = tensors.subset(data.split_indices("train")), tensors.subset(data.split_indices("test"))
    base = get_profile("cpu").recipe
    rows = []
    for (name, batch, lr, epochs), seed in itertools.product(CANDIDATES, args.seeds):
        if args.only and name != args.only:
            continue
        recipe = dataclasses.replace(base, batch_size=batch, lr=lr, epochs=epochs)
        model = create_model(name, num_classes=data.num_classes, in_chans=3, image_size=28, seed=seed)
        history = fit(model, train, recipe, seed=seed, progress=False)
        result = evaluate(model, test)
        rows.append({"model": name, "batch_size": batch, "lr": lr, "epochs": epochs, "seed": seed,
                     "train_seconds": round(history.seconds, 1), "test_acc": result.accuracy,
                     "test_bacc": balanced_accuracy(result.labels, result.preds),
                     "test_auc": macro_auc(result.labels, result.probs)})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["model", "batch_size", "lr", "epochs"])[["train_seconds", "test_acc", "test_bacc", "test_auc"]].agg(["mean", "std"])
    print(summary.round(4).to_string())
    if args.csv:
        table.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
