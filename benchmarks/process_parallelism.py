"""Two cores, two ways: one training process with 2 torch threads, or 2 processes with 1 thread each.

The question behind ``reproduce --dask-workers 2`` on a 2-core machine (issue 22): does running two
trainings side by side, one thread each, finish more images per second than one training on two
threads? Each loop is ``unlearnlib.training.fit`` (eager fp32, the cpu profile's model and batch) on
HAM10000's training split (synthetic data of the same shape when it is absent). The configurations
alternate within each round and the median of the rounds is kept; the load average is printed.

    python benchmarks/process_parallelism.py [--epochs 3] [--rounds 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import statistics
import time

import torch


def _train(threads: int, epochs: int, profile_name: str, queue) -> None:
    torch.set_num_threads(threads)
    from training_throughput import training_data  # same data as the throughput benchmark

    from unlearnlib.models import create_model
    from unlearnlib.profiles import get_profile
    from unlearnlib.training import fit

    profile = get_profile(profile_name)
    recipe = dataclasses.replace(profile.recipe, epochs=epochs)
    data, _ = training_data(profile.image_size)
    model = create_model(profile.model, num_classes=int(data.y.max()) + 1, in_chans=data.x.shape[1], image_size=profile.image_size, seed=0)
    seconds = fit(model, data, recipe, seed=0, progress=False).seconds
    queue.put((len(data) * epochs, seconds))


def run(processes: int, threads: int, epochs: int, profile: str) -> tuple[float, float]:
    """Images per second summed over ``processes`` trainings started together (their slowest fit
    bounds the time), and the wall clock including start-up."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_train, args=(threads, epochs, profile, queue)) for _ in range(processes)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    # Data loading and imports happen before fit; count the trainings' own time, bounded by the wall clock.
    return sum(images for images, _ in results) / max(seconds for _, seconds in results), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    configurations = {"1 process x 2 threads": (1, 2), "2 processes x 1 thread": (2, 1), "2 processes x 2 threads": (2, 2)}
    rates: dict[str, list[float]] = {name: [] for name in configurations}
    loads = []
    for round_ in range(args.rounds):
        for name, (processes, threads) in configurations.items():
            loads.append(round(os.getloadavg()[0], 2))
            rate, wall = run(processes, threads, args.epochs, args.profile)
            rates[name].append(rate)
            print(f"round {round_ + 1}: {name}: {rate:,.0f} images/s ({wall:.1f} s wall, load {loads[-1]})", flush=True)
    base = statistics.median(rates["1 process x 2 threads"])
    print(f"\n{os.cpu_count()} cores, {args.epochs} epochs per training, median of {args.rounds} rounds, load {loads}\n")
    print("| configuration | images/s (all processes) | vs 1 x 2 threads |\n|---|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {statistics.median(values):,.0f} | {statistics.median(values) / base:.2f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rates": rates, "load_average_1min": loads, "epochs": args.epochs, "cores": os.cpu_count()}, handle, indent=2)


if __name__ == "__main__":
    main()
