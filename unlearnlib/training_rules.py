"""The training rules of issue 32, which every loop that trains in batches follows.

- **No short batches**: a last batch under a fifth of the batch size joins the one before it
  (:func:`training.batch_order` cuts, :func:`batches_per_epoch` counts the steps).
- **An original that fits** (:class:`FitTarget`): trained on past its schedule until it fits its
  training set; its retrains train as many extra epochs (:func:`train_longer`).

Pure arithmetic and declarations (no torch): ``training.py`` applies them, ``ledger_audit.py``
says which older ledger rows they change.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
from dataclasses import dataclass


# No short batches (issue 32): a last batch of fewer than a fifth of the batch size (26 images at
# 128) joins the batch before it. A 350-image request left HAM10000's retain set with a 3-image last
# batch every epoch, and every such retrain underfit (train 0.82-0.88 against 0.95-0.98). Measured
# (benchmarks/README.md, "Short last batches"; one seed, HAM10000, the cpu recipe): a last batch of 3,
# 8 or 16 images fits 0.889, 0.934, 0.958; of 27, 36, 48 or 64 images 0.974-0.978, as the retrains
# with longer ones do. So the limit lies between 16 and 27: a fifth. Merged rather than spread, so
# that only that last batch changes: the permutation and every other batch stay as they were, and a
# size whose last batch is at least a fifth keeps its batch sequence (and its ledger rows) bit for
# bit. Half a batch would have changed nearly every committed row for no measured gain.
SHORT_BATCH_FRACTION = 1 / 5


def short_batch_limit(batch_size: int) -> int:
    """The smallest last batch kept as a batch of its own; a smaller one is merged."""
    return math.ceil(batch_size * SHORT_BATCH_FRACTION)


def has_short_batch(n: int, batch_size: int) -> bool:
    """Whether cutting ``n`` samples into ``batch_size`` batches leaves a last batch the rule
    merges (a set smaller than one batch is one whole batch: nothing to merge)."""
    return n > batch_size and 0 < n % batch_size < short_batch_limit(batch_size)


def batches_per_epoch(n: int, batch_size: int) -> int:
    """Optimizer steps in one pass over ``n`` samples (what :func:`batch_order` cuts)."""
    return math.ceil(n / batch_size) - has_short_batch(n, batch_size)


# The schedule ends near lr 0, where more epochs change little; a tenth of the peak is where a
# cosine schedule stands at 80 % of its length.
EXTENSION_LR_FACTOR = 0.1


@dataclass(frozen=True)
class FitTarget:
    """Train on past the schedule until the model fits its training set (issue 32).

    After the recipe's epochs, while eval-mode accuracy on the training set is below
    ``train_acc``, one more epoch at a constant ``lr_factor`` x the recipe's peak learning rate,
    checked after each, and at most ``max_extra_share`` x the scheduled epochs. A model that fits
    when its schedule ends trains exactly as without a target (only one evaluation is added), so
    every original that met the target keeps its weights bit for bit."""

    train_acc: float
    lr_factor: float = EXTENSION_LR_FACTOR
    max_extra_share: float = 1.0  # at most as many epochs again as the schedule

    def __post_init__(self) -> None:
        if not 0 < self.train_acc <= 1 or not 0 < self.lr_factor <= 1 or self.max_extra_share < 0:
            raise ValueError(f"train_acc and lr_factor in (0, 1] and max_extra_share >= 0 are required; got {self}")

    def max_extra_epochs(self, scheduled_epochs: int) -> int:
        return math.ceil(self.max_extra_share * scheduled_epochs)


class FitTargetMissed(UserWarning):
    """Training stopped at the cap of :class:`FitTarget` without the model fitting its training set."""


_EXTRA_EPOCHS = contextvars.ContextVar("extra_epochs", default=0)


@contextlib.contextmanager
def train_longer(extra_epochs: int):
    """Every ``fit`` inside (that names no ``until`` or ``extra_epochs`` of its own) trains
    ``extra_epochs`` epochs past its schedule: how a retrain, whose module calls ``fit`` with the
    original's recipe, trains as long as its original did (the method's code need not change)."""
    if extra_epochs < 0:
        raise ValueError(f"extra_epochs must be >= 0; got {extra_epochs}")
    token = _EXTRA_EPOCHS.set(int(extra_epochs))
    try:
        yield
    finally:
        _EXTRA_EPOCHS.reset(token)


def extra_epochs_in_force() -> int:
    """The innermost :func:`train_longer`'s extra epochs (0 outside any)."""
    return _EXTRA_EPOCHS.get()


# Both training rules of issue 32 (no short batch; an original trained on until it fits), written
# into every ledger row computed under them (provenance.stamp; training_rules.py says which older
# rows they change).
TRAINING_RULES = "merge-last-batch-under-1/5;fit-to-target"


