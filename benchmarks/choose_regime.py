"""Choose the cpu profile's training regime by measurement: a model that fits (memorizes)
its training set, has live weights everywhere, and still generalizes.

For each candidate (model, flips, batch, lr, weight decay, epochs) trains on HAM10000's
lesion-level training split at 28 px and reports wall time, training-split accuracy in
eval mode, test accuracy, macro AUC, the loss-threshold membership AUC (training vs test
split) and the share of conv / linear weights with exactly zero gradient.

    python benchmarks/choose_regime.py [--seeds 0] [--only 0 2] [--csv out.csv]
"""
from __future__ import annotations

import argparse
import itertools
import os

import pandas as pd

from unlearnlib.data import load_dataset
from unlearnlib.evaluation.metrics import macro_auc, membership_auc
from unlearnlib.models import create_model, dead_weight_share
from unlearnlib.training import Tensors, TrainConfig, evaluate, fit

CANDIDATES = [  # model, flips, batch, lr, weight decay, epochs
    ("resnet_tiny", True, 64, 0.1, 5e-4, 30),  # the previous cpu profile
    ("resnet_tiny", False, 64, 0.1, 5e-4, 30),
    ("resnet_tiny_nopool", False, 128, 0.05, 5e-4, 30),
    ("resnet_tiny_nopool", True, 128, 0.05, 5e-4, 30),
    ("resnet_tiny_nopool", False, 128, 0.05, 2e-3, 30),
    ("resnet_tiny_nopool", False, 64, 0.05, 1e-3, 30),
    ("resnet_tiny_nopool", True, 128, 0.05, 1e-4, 40),
]


def measure(data, tensors, candidate, seed: int, image_size: int) -> dict:
    name, flips, batch, lr, wd, epochs = candidate
    recipe = TrainConfig(epochs=epochs, batch_size=batch, lr=lr, weight_decay=wd, flips=flips)
    train, test = tensors.subset(data.split_indices("train")), tensors.subset(data.split_indices("test"))
    model = create_model(name, num_classes=data.num_classes, in_chans=data.in_chans, image_size=image_size, seed=seed)
    history = fit(model, train, recipe, seed=seed, progress=False)
    on_train, on_test = evaluate(model, train), evaluate(model, test)
    return {"model": name, "flips": flips, "batch_size": batch, "lr": lr, "weight_decay": wd, "epochs": epochs, "seed": seed,
            "train_seconds": round(history.seconds, 1), "train_acc": on_train.accuracy, "test_acc": on_test.accuracy,
            "test_auc": macro_auc(on_test.labels, on_test.probs),
            "membership_auc": membership_auc(on_train.losses, on_test.losses),
            "dead_weight_share": dead_weight_share(model, train.x, train.y)}


def main() -> None:
    import torch

    if os.environ.get("UNLEARNLIB_THREADS"):  # e.g. 1 on a shared machine, where extra threads only spin
        torch.set_num_threads(int(os.environ["UNLEARNLIB_THREADS"]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", type=int, nargs="+", help="candidate numbers (0-based) to run")
    parser.add_argument("--dataset", default="ham10000")
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--csv")
    args = parser.parse_args()

    data = load_dataset(args.dataset, image_size=args.image_size)
    tensors = Tensors.from_arrays(data.images, data.labels)
    chosen = [c for i, c in enumerate(CANDIDATES) if args.only is None or i in args.only]
    rows = []
    for candidate, seed in itertools.product(chosen, args.seeds):
        rows.append(measure(data, tensors, candidate, seed, args.image_size))
        print(rows[-1], flush=True)
        if args.csv:
            pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(pd.DataFrame(rows).round(4).to_string())


if __name__ == "__main__":
    main()
