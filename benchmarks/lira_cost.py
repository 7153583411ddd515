"""What issue 34's per-example attacks cost: one U-LiRA shadow on BreastMNIST, one offline-LiRA
reference on HAM10000, measured on one thread (CPU seconds: the machine may be shared), projected.

    UNLEARNLIB_DATA_DIR=... python benchmarks/lira_cost.py [--profile cpu] [--cache /tmp/lira-bench]

Measured at commit de7f10e on the 2-core AMD EPYC (avx512_bf16) that runs the cpu study, cpu
profile (channels_last+bf16), one thread, beside the study's own rerun: a shadow original 27.3 s,
its retrain 31.8 s, a second retrain 33.3 s, the 11 methods at their tuned settings 17.3 s
together (16.5-17.3 s over two runs; Fisher 3-5.5 s); a U-LiRA design of K = 40 shadows (222
pool images, forgotten 8 to 14 times each, 9.9 on average) then costs about 4,800 core-seconds
for all 11 methods, original and retrain on 5 seeds: 80 min on one core, about 40 min on the
study's 2 workers, inside the issue's 3 hours. A HAM10000 reference (3,504 images) trained in
63.6 s and scored the 7,009 training and 2,004 test images in 0.8 s: 16 references, 17 min on
one core, plus the 55 method runs of the attacked models (about 230 s a seed in the ledger).
A model already in the cache (``--cache``) is read, not timed: use an empty cache to measure.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import torch

from unlearnlib.kinds import offline_lira, ulira
from unlearnlib.algorithms import ORDER
from unlearnlib.kinds.originals import study_data
from unlearnlib.profiles import activate_compute_path, get_profile
from unlearnlib.kinds.runner import ResultStore, unlearned_model
from unlearnlib.kinds.specs import retrain_seed, tuning_spec
from unlearnlib.results.store import ModelStore
from unlearnlib.execution.study import tunable
from unlearnlib.kinds.tuning import tuned_hyperparameters


def _cpu(run) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def ulira_shadow(profile, store: ModelStore) -> dict:
    shadows = ulira.shadow_set(profile, "breastmnist")
    data = study_data(shadows.original)
    pool, forgets = ulira.design(shadows, data)
    out = {"K": shadows.n_shadows, "pool": len(pool), "forgotten_min": int(forgets.sum(0).min()), "forgotten_max": int(forgets.sum(0).max())}
    out["original_and_retrain"] = _cpu(lambda: ulira.train_shadow(ulira.ShadowModel(shadows, 0), data=data, store=store))
    split, task = ulira._shadow_task(shadows, 0, data, store)
    seed = retrain_seed(shadows.shadow_original(0).seed, 1)
    out["second_retrain"] = _cpu(lambda: unlearned_model(shadows.shadow_experiment(0), task, split, store, False, seed=seed))
    ledger = ResultStore()  # tuned settings, read only
    methods = {}
    for m in ORDER[2:]:
        row = ledger.load(tuning_spec(profile, "breastmnist", m)) if m in tunable() else None
        hp = tuple(sorted(tuned_hyperparameters(row).items())) if row is not None else ()
        methods[m] = _cpu(lambda: unlearned_model(shadows.shadow_experiment(0, m, hp), task, split, store, False))
    out["methods"], out["methods_total"] = methods, sum(methods.values())
    per_shadow = out["original_and_retrain"] + out["second_retrain"] + out["methods_total"]
    targets = len(profile.seeds) * (out["methods_total"] + out["second_retrain"])
    out["projected_core_seconds"] = shadows.n_shadows * per_shadow + targets
    return out


def offline_reference(profile, store: ModelStore) -> dict:
    refs = offline_lira.reference_set(profile, "ham10000")
    data = study_data(refs.original)
    model = []
    out = {"n_models": refs.n_models, "reference": _cpu(lambda: model.append(
        offline_lira.reference_model(offline_lira.ReferenceModel(refs, 0), data=data, store=store)[0]))}
    out["scoring"] = _cpu(lambda: [ulira._confidence(model[0], data, data.split(s)) for s in ("train", "test")])
    out["projected_references_core_seconds"] = refs.n_models * (out["reference"] + out["scoring"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--cache", default="/tmp/lira-bench", help="a model cache of its own (nothing is read from the study's)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    profile = get_profile(args.profile)
    activate_compute_path(profile)
    torch.set_num_threads(1)
    store = ModelStore(f"{args.cache}/models")
    print(json.dumps({"ulira_breastmnist": ulira_shadow(profile, store)}, indent=1), flush=True)
    print(json.dumps({"offline_ham10000": offline_reference(profile, store)}, indent=1), flush=True)


if __name__ == "__main__":
    main()
