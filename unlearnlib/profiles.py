"""Run profiles: the scale of a study run, as plain data.

- ``smoke``: tiny subsets and a couple of epochs, so CI runs every notebook in minutes.
- ``cpu``: the default, the real data at full size on a 2-core machine.
- ``gpu``: paper scale (``resnet18`` at 64 px, more epochs and seeds).
"""
from __future__ import annotations

from dataclasses import dataclass

from .training import TrainConfig


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
    # The retrain and the original at the size curve's smallest and largest forget size run on
    # these seeds (a superset of curve_seeds): finding 3 is the retrain's drop between them.
    # Empty: the curve's seeds.
    curve_end_seeds: tuple[int, ...] = ()
    group_forget_size: int = 350  # images in each sex / difficulty forget set
    tuning_trials: int = 20  # Optuna trials per method and objective (the same budget for every method)
    fq_models: int = 32  # models per side for the challenge's forgetting quality
    # Where forgetting quality and the retrain-free tuning run: many models per side are cheap on
    # the small dataset (a BreastMNIST retrain takes seconds) and dear on the large one.
    fq_dataset: str = "breastmnist"
    fq_bootstrap: int = 100  # half-sample replicates of its interval (about 2 s each on 2 cores at N = 32, 700 samples)
    memorization_models: int = 8  # models on random halves for the memorization estimate
    # What the original must reach, or the study has nothing to forget (checked, loudly, on every
    # original: originals.check_memorization); None: not checked (the smoke profile's 2 epochs).
    memorization_target: tuple[tuple[str, float], ...] | None = (("train_acc", 0.97), ("membership_auc", 0.60))
    # Per-dataset image sizes where they differ from ``image_size`` (e.g. no 64 px BreastMNIST file offline).
    dataset_image_sizes: tuple[tuple[str, int], ...] = ()
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
        memorization_models=2,
        memorization_target=None,
        notes="for CI and quick checks; numbers mean nothing",
    ),
    "cpu": Profile(
        name="cpu",
        model="resnet_tiny_nopool",
        image_size=28,
        # Flips and 60 epochs: memorizes (train >= 0.97, membership AUC >= 0.60) and classifies (test 0.74,
        # balanced 0.47, macro AUC 0.90), at about 2.4x the old 30-epoch recipe's time (benchmarks/choose_original.py).
        recipe=TrainConfig(epochs=60, batch_size=128, lr=0.05, weight_decay=2e-3, flips=True),
        seeds=(0, 1, 2, 3, 4),
        curve_seeds=(0, 1, 2),
        curve_end_seeds=tuple(range(10)),  # 3 seeds gave the retrain's 1 % -> 50 % drop an interval of +-0.033
        memorization_models=16,  # Feldman & Zhang's estimate: 8 in and 8 out per image (8 models scored in steps of 1/4)
        notes="full data at 28 px; an original that memorizes its training set and classifies well, about 160 s per "
              "HAM10000 model on 2 cores (benchmarks/choose_original.py)",
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
