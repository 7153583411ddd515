"""Run profiles: the scale of a study run, as plain data.

- ``smoke``: tiny subsets and a couple of epochs, so CI runs every notebook in minutes.
- ``cpu``: the default, the real data at full size on a 2-core machine.
- ``gpu``: paper scale (``resnet18`` at 64 px, more epochs and seeds).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

from .paths import device
from .settings import COMPUTE_PATH_ENV
from .compute_path import pin_task_threads
from .training import ComputePath, TrainConfig, native_bf16


@dataclass(frozen=True)
class Profile:
    name: str
    model: str
    image_size: int
    recipe: TrainConfig
    seeds: tuple[int, ...] = (0,)
    max_per_split: int | None = None  # subsample each split to at most this many images
    split_seed: int = 0
    # The secondary analyses (size curves, sex, difficulty, patients, privacy) run these
    # methods, with retrain and the original beside them; the main table runs them all.
    focus_methods: tuple[str, ...] = ("finetune", "neggrad_plus", "random_label", "salun", "scrub", "ssd")
    forget_fractions: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)
    curve_seeds: tuple[int, ...] = (0,)
    # The focus methods, the retrain and the original at the size curve's smallest and largest
    # forget size run on these seeds (a superset of curve_seeds): finding 3 is each method's drop
    # between them minus the same seed's retrain's. Empty: the curve's seeds.
    curve_end_seeds: tuple[int, ...] = ()
    group_forget_size: int = 350  # images in each sex / difficulty forget set
    tuning_trials: int = 20  # Optuna trials per method and objective (the same budget for every method)
    fq_models: int = 32  # models per side for the challenge's forgetting quality
    # Where forgetting quality and the retrain-free tuning run: many models per side are cheap on
    # the small dataset (a BreastMNIST retrain takes seconds) and dear on the large one.
    fq_dataset: str = "breastmnist"
    fq_bootstrap: int = 100  # half-sample replicates of its interval (about 2 s each on 2 cores at N = 32, 700 samples)
    memorization_models: int = 8  # models on random halves for the memorization estimate
    # U-LiRA's shadow design on the quality dataset: every attacked example is forgotten by at least this
    # many shadows per side (unlearnlib.kinds.ulira; the minimum of 8: below it the fits pool their sd).
    ulira_rounds: int = 8
    # What the original must reach, or the study has nothing to forget (checked, loudly, on every
    # original: originals.check_memorization); None: not checked (the smoke profile's 2 epochs).
    memorization_target: tuple[tuple[str, float], ...] | None = (("train_acc", 0.97), ("membership_auc", 0.60))
    # Per-dataset image sizes where they differ from ``image_size`` (e.g. no 64 px BreastMNIST file offline).
    dataset_image_sizes: tuple[tuple[str, int], ...] = ()
    # How training runs its arithmetic (unlearnlib.training.ComputePath label): part of every record's
    # code version and fingerprint, so the committed ledger is found under it on any machine.
    # UNLEARNLIB_COMPUTE_PATH overrides it (records of another path are other rows, never mixed).
    compute_path: str = "eager-fp32"
    notes: str = ""

    def image_size_for(self, dataset: str) -> int:
        return dict(self.dataset_image_sizes).get(dataset, self.image_size)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        model="resnet_tiny",
        image_size=28,
        recipe=TrainConfig(epochs=2, batch_size=64),
        seeds=(0,),
        max_per_split=300,
        focus_methods=("finetune", "gradient_ascent", "ssd"),
        forget_fractions=(0.05, 0.10, 0.20),
        group_forget_size=15,  # 5 % of the 300 training images: the size curve tunes there
        tuning_trials=2,
        fq_models=4,
        fq_bootstrap=20,
        memorization_models=4,  # 2 out per image: offline LiRA's references need two for a pooled sd
        memorization_target=None,
        ulira_rounds=2,
        notes="for CI and quick checks; numbers mean nothing",
    ),
    "cpu": Profile(
        name="cpu",
        model="resnet_tiny_nopool",
        image_size=28,
        # Flips and 60 epochs: memorizes (train >= 0.97, membership AUC >= 0.60) and classifies (test 0.74,
        # balanced 0.47, macro AUC 0.90), at about 2.4x the old 30-epoch recipe's time (benchmarks/choose_original.py).
        # A floor of 800 SGD steps for small training sets: BreastMNIST (546 images, 5 steps per epoch) got 300
        # steps from 60 epochs and missed the target (train 0.91-0.97, membership AUC 0.53-0.59, seeds 0-4); at 800
        # steps it reaches train 1.000, membership AUC 0.63-0.65 (seeds 0-1) in about 20 s. HAM10000's 3,300 steps
        # are above the floor, so its training is unchanged.
        recipe=TrainConfig(epochs=60, batch_size=128, lr=0.05, weight_decay=2e-3, flips=True, min_steps=800),
        seeds=(0, 1, 2, 3, 4),
        curve_seeds=(0, 1, 2),
        curve_end_seeds=tuple(range(10)),  # 3 seeds gave the retrain's 1 % -> 50 % drop an interval of +-0.033
        memorization_models=16,  # Feldman & Zhang's estimate: 8 in and 8 out per image (8 models scored in steps of 1/4)
        # bf16 autocast + channels-last: 1.29x eager fp32 at 2 threads, 1.94x with 2 processes x 1 thread, on a
        # 2-core Xeon with AMX (benchmarks/README.md, "The compute path"); originals agree with fp32 ones within a
        # seed-to-seed sd. Where the processor lacks native bf16 it is emulated (slower): activate_compute_path warns.
        compute_path="channels_last+bf16",
        notes="full data at 28 px; an original that memorizes its training set and classifies well, about 135 s per "
              "HAM10000 model on one core, two at once on 2 cores (benchmarks/README.md)",
    ),
    "gpu": Profile(
        name="gpu",
        model="resnet18",
        image_size=64,
        recipe=TrainConfig(epochs=50, batch_size=128, lr=0.05, flips=False),
        seeds=(0, 1, 2, 3, 4, 5, 6, 7),
        focus_methods=("finetune", "gradient_ascent", "neggrad_plus", "random_label", "l1_sparse", "salun", "scrub",
                       "bad_teacher", "ssd", "fisher", "boundary_shrink"),
        curve_seeds=(0, 1, 2, 3, 4),
        tuning_trials=40,
        fq_models=64,
        fq_bootstrap=200,
        fq_dataset="ham10000",
        memorization_models=16,
        dataset_image_sizes=(("breastmnist", 28),),  # the offline mirror has only the 28 px BreastMNIST file
        notes="paper scale: HAM10000 at 64 px from the JPEGs; needs a GPU",
    ),
}


_ACTIVATED: str | None = None  # the label activate_compute_path last put in the environment


def activate_compute_path(profile: Profile) -> ComputePath:
    """Run this process (and the notebook kernels and workers it starts) on ``profile``'s compute
    path, unless ``UNLEARNLIB_COMPUTE_PATH`` was set by the user (an explicit choice wins); returns
    the path in force. Every entry point that computes or reads records calls it (notebook.start,
    reproduce, the plan, ``unlearnlib run``), so records are looked up under the path they were made on.
    It also pins torch to :data:`~unlearnlib.compute_path.TASK_THREADS` threads, the count every row is made at."""
    global _ACTIVATED
    pin_task_threads()
    current = os.environ.get(COMPUTE_PATH_ENV) or None
    label = profile.compute_path if current is None or current == _ACTIVATED else current
    path = ComputePath.from_label(label)  # a bad label fails here, naming the allowed ones
    os.environ[COMPUTE_PATH_ENV] = label
    if current is None or current == _ACTIVATED:
        _ACTIVATED = label
    if path.bf16 and not native_bf16(device()):
        warnings.warn(f"profile {profile.name!r} computes on {label!r}, but this processor has no native bf16 "
                      "(avx512_bf16 or amx_bf16; on a GPU, bf16 support): it is emulated, slower than fp32. The committed records were made "
                      "on this path; to compute fp32 records instead (other rows), set UNLEARNLIB_COMPUTE_PATH=eager-fp32",
                      stacklevel=2)
    return path


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def memorization_models_for(profile_name: str) -> int:
    """How many models the memorization estimate of profile ``profile_name`` trains; a profile
    made on the fly (tests, notebooks) has no registered name and gets the default."""
    known = PROFILES.get(profile_name)
    return known.memorization_models if known else Profile.memorization_models


def memorization_target_for(profile_name: str) -> dict[str, float] | None:
    """The memorization target ({metric: floor}) of profile ``profile_name``; a profile made on
    the fly (tests, notebooks) gets the default."""
    known = PROFILES.get(profile_name)
    target = known.memorization_target if known else Profile.memorization_target
    return dict(target) if target else None
