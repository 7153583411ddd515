"""Training-loop throughput of unlearnlib.training.fit on each compute path against a bare PyTorch loop.

Same model (the cpu profile's ``resnet_tiny_nopool`` at 28 px), same data (HAM10000's training
split when present, else synthetic data of the same shape), same batch size (128) and optimiser,
2 threads. The bare loop is eager fp32 and only shuffles, forwards, backpropagates and steps;
ours adds the learning-rate schedule and per-sample bookkeeping, and runs under each
``ComputePath``. The loops alternate within each round and the median of the rounds is kept,
so that drift in machine load hits all alike; the load average is printed beside it.

A compiled path pays its compile time once per process (fresh models of the same architecture
reuse the compiled graph), so its first round is reported apart as the compile cost.

The parity of the fast path (originals trained both ways agree within one seed-to-seed sd)
is measured by ``choose_original.py`` (its ``parity`` rows).

    python benchmarks/training_throughput.py [--epochs 2] [--rounds 3] [--no-compile] [--json out.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from unlearnlib.data import DatasetError, load_dataset
from unlearnlib.models import create_model
from unlearnlib.profiles import get_profile
from unlearnlib.training import EAGER_FP32, ComputePath, Tensors, fit, native_bf16


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
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile path")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    profile = get_profile(args.profile)
    recipe = dataclasses.replace(profile.recipe, epochs=args.epochs)
    data, source = training_data(profile.image_size)
    num_classes = int(data.y.max()) + 1

    def new_model():
        return create_model(profile.model, num_classes=num_classes, in_chans=data.x.shape[1], image_size=profile.image_size, seed=0)

    bf16 = native_bf16("cpu")
    paths = [EAGER_FP32, ComputePath(channels_last=True), ComputePath(channels_last=True, bf16=bf16)]
    if not args.no_compile:
        paths.append(ComputePath(channels_last=True, bf16=bf16, compile=True))
    paths = list(dict.fromkeys(paths))  # without native bf16 two of them coincide
    seconds: dict[str, list[float]] = {"bare eager fp32": [], **{f"fit {p.label()}": [] for p in paths}}
    compile_round: dict[str, float] = {}
    loads = []
    for round_ in range(args.rounds + (0 if args.no_compile else 1)):
        loads.append(os.getloadavg()[0])
        for path in paths:
            if round_ == args.rounds and not path.compile:
                continue  # the extra round only replaces the compiled path's first (compiling) one
            spent = fit(new_model(), data, recipe, seed=0, progress=False, path=path).seconds
            if path.compile and f"fit {path.label()}" not in compile_round:
                compile_round[f"fit {path.label()}"] = spent  # compile + one run: reported apart
            else:
                seconds[f"fit {path.label()}"].append(spent)
        if round_ < args.rounds:
            seconds["bare eager fp32"].append(bare_loop(new_model(), data, recipe, seed=0))
        print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in seconds.items() if v), flush=True)

    images = len(data) * recipe.epochs
    bare = statistics.median(seconds["bare eager fp32"])
    result = {
        "data": source, "model": profile.model, "image_size": profile.image_size, "batch_size": recipe.batch_size,
        "images_per_run": images, "threads": torch.get_num_threads(), "native_bf16": bf16,
        "load_average_1min": [round(v, 2) for v in loads], "rounds": args.rounds,
        "loops": {name: {"images_per_s": round(images / statistics.median(s)), "vs_bare_eager_fp32": round(bare / statistics.median(s), 3),
                         "seconds": [round(v, 2) for v in s]} for name, s in seconds.items()},
    }
    for name, spent in compile_round.items():
        steady = statistics.median(seconds[name])
        result["loops"][name]["compile_seconds"] = round(spent - steady, 1)
    print(f"\n{source}, {profile.model} at {profile.image_size} px, batch {recipe.batch_size}, {args.threads} threads, "
          f"native bf16: {bf16}, load {', '.join(f'{v:.2f}' for v in loads)}; median of {args.rounds} rounds of {recipe.epochs} epochs\n")
    print("| loop | images/s | vs bare eager fp32 |\n|---|---|---|")
    for name, row in result["loops"].items():
        extra = f" (plus {row['compile_seconds']} s to compile, once per process)" if "compile_seconds" in row else ""
        print(f"| {name} | {row['images_per_s']:,} | {row['vs_bare_eager_fp32']:.2f}{extra} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
