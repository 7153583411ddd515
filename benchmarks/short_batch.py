"""How small a last batch breaks a HAM10000 retrain (issue 32): the measurement behind
``training.MIN_LAST_BATCH_FRACTION``.

Trains the cpu profile's recipe (``resnet_tiny_nopool``, flips, 60 epochs, batch 128, on its
compute path) on random subsets of HAM10000's training split whose sizes leave a last batch of
``r`` images (``n = 52 * 128 + r``), one model per size, the same initialisation seed, and
measures eval-mode accuracy on the subset it trained on (what a retrain's ``retain_acc`` is).
``--rule old`` cuts batches as every committed row before issue 32 did (the last batch may be
any size); ``--rule current`` uses the library's ``batch_order`` as it is now.

    OMP_NUM_THREADS=1 python benchmarks/short_batch.py --remainders 0 3 8 16 --json benchmarks/results/short_batch.json

Each size is one process of one thread (``--jobs`` at a time); rows append to the JSON as they
finish, so a rerun skips what is there.
"""
from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BATCHES = 52  # full batches below the remainder: 52 * 128 = 6,656, a 350-image request leaves 6,659


def one(rule: str, remainder: int, seed: int) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from unlearnlib import training
    from unlearnlib.kinds.originals import load_study_data, model_factory
    from unlearnlib.profiles import activate_compute_path, get_profile
    from unlearnlib.kinds.specs import OriginalSpec

    profile = get_profile("cpu")
    path = activate_compute_path(profile)
    spec = OriginalSpec.from_profile(profile, "ham10000", seed)
    data = load_study_data(spec)
    train = data.split("train")
    n = BATCHES * profile.recipe.batch_size + remainder
    chosen = np.sort(np.random.default_rng(seed).choice(train, size=n, replace=False))
    subset = data.tensors.subset(chosen)
    if rule == "old":  # the pre-issue-32 cut: a random permutation split into batch_size pieces, the last as it falls
        training.batch_order = lambda size, batch_size, gen: list(torch.randperm(size, generator=gen).split(batch_size))
    model = model_factory(spec, data.dataset)(training_seed := 100_000 + seed)
    history = training.fit(model, subset, profile.recipe, seed=training_seed, progress=False, path=path)
    evaluation = training.evaluate(model, subset, path=path)
    accuracy = float((evaluation.logits.argmax(1) == evaluation.labels).mean())
    return {"rule": rule, "remainder": remainder, "n": n, "seed": seed, "train_acc_eval": accuracy,
            "train_acc_last_epoch": history.accuracy[-1], "seconds": history.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remainders", type=int, nargs="+", default=[0, 3, 8, 16])
    parser.add_argument("--rule", choices=("old", "current"), default="old")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "short_batch.json")
    args = parser.parse_args()
    rows = json.loads(args.json.read_text()) if args.json.exists() else []
    done = {(r["rule"], r["remainder"], r["seed"]) for r in rows}
    todo = [(args.rule, r, s) for s in args.seeds for r in args.remainders if (args.rule, r, s) not in done]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(one, *zip(*todo)) if todo else []:
            rows.append(row)
            print(json.dumps(row), flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(sorted(rows, key=lambda r: (r["rule"], r["seed"], r["remainder"])), indent=1) + "\n")


if __name__ == "__main__":
    main()
