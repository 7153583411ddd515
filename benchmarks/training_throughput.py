"""Training-loop throughput of unlearnlib.training.fit against a bare PyTorch loop.

Same model (the cpu profile's), same data (HAM10000's training split when present,
else synthetic data of the same shape), same batch size and optimiser. The bare loop
only shuffles, forwards, backpropagates and steps; ours adds flips, the learning-rate
schedule and per-sample bookkeeping. Runs alternate and the best of each is kept, so
that drift in machine load hits both alike.

    python benchmarks/training_throughput.py [--epochs 3] [--repeats 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from unlearnlib.data import DatasetError, load_dataset
from unlearnlib.models import create_model
from unlearnlib.profiles import get_profile
from unlearnlib.training import Tensors, fit


def training_data(image_size: int) -> tuple[Tensors, str]:
    try:
        data = load_dataset("ham10000", image_size=image_size)
        source = "HAM10000 training split"
    except DatasetError:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (7000, 3, image_size, image_size), dtype=np.uint8)
        return Tensors.from_arrays(images, rng.integers(0, 7, 7000)), "synthetic (HAM10000 not found)"
    train = data.split_indices("train")
    return Tensors.from_arrays(data.images[train], data.labels[train]), source


def bare_loop(model, data: Tensors, recipe, seed: int) -> float:
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    model.train()
    start = time.perf_counter()
    for _ in range(recipe.epochs):
        for index in torch.randperm(len(data), generator=generator).split(recipe.batch_size):
            loss = F.cross_entropy(model(data.x[index]), data.y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()

    profile = get_profile(args.profile)
    recipe = dataclasses.replace(profile.recipe, epochs=args.epochs)
    data, source = training_data(profile.image_size)
    num_classes = int(data.y.max()) + 1

    def new_model():
        return create_model(profile.model, num_classes=num_classes, in_chans=data.x.shape[1], image_size=profile.image_size, seed=0)

    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(new_model(), data, recipe, seed=0))
        ours.append(fit(new_model(), data, recipe, seed=0, progress=False).seconds)
    samples = len(data) * recipe.epochs
    result = {
        "data": source,
        "model": profile.model,
        "batch_size": recipe.batch_size,
        "samples_per_run": samples,
        "threads": torch.get_num_threads(),
        "bare_samples_per_s": samples / min(bare),
        "unlearnlib_samples_per_s": samples / min(ours),
        "ratio": min(bare) / min(ours),
    }
    for key, value in result.items():
        print(f"{key:26s} {value:.3f}" if isinstance(value, float) else f"{key:26s} {value}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
