"""Deterministic train / evaluate loops over in-memory tensors.

The whole split lives in one float tensor; a batch is an index into it, so the hot loop
has no per-sample Python. Augmentation is random horizontal and vertical flips, applied
to whole batches with masks. Same seed, same thread count: same weights and metrics.

How the arithmetic runs is a separate, opt-in choice (``ComputePath``: channels-last
memory, bf16 autocast, torch.compile); the default is eager fp32, today's loop exactly.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from typing import TYPE_CHECKING

from tqdm import tqdm  # the plain bar: renders in terminals and in executed notebooks alike

from .paths import device  # noqa: F401  (re-exported: training.device() names where a model trains)
from .compute_path import (EAGER_FP32, ComputePath, _autocast, _prepare, _restore, _to_input, choose_path,  # noqa: F401
                           configured_path, current_path, native_bf16, use_path)
from .training_rules import (EXTENSION_LR_FACTOR, TRAINING_RULES, FitTarget, FitTargetMissed, batches_per_epoch,  # noqa: F401
                             extra_epochs_in_force, has_short_batch, short_batch_limit, train_longer)


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe: SGD with momentum, cosine decay after a linear warm-up."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    schedule: str = "cosine"  # or "constant"
    flips: bool = True
    # A floor on the optimizer steps: a small training set gets more epochs, so that a recipe
    # tuned on HAM10000 (55 steps per epoch) still memorizes a set of a few hundred images
    # (5 steps per epoch at batch 128). 0: the recipe is ``epochs`` whatever the set's size.
    min_steps: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1 or self.lr <= 0 or self.min_steps < 0:
            raise ValueError(f"epochs >= 0, batch_size >= 1, lr > 0 and min_steps >= 0 are required; got {self}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant'; got {self.schedule!r}")

    def steps_per_epoch(self, n_samples: int) -> int:
        return batches_per_epoch(n_samples, self.batch_size)

    def epochs_for(self, n_samples: int) -> int:
        """Epochs over ``n_samples`` images: ``epochs``, or more where that is under ``min_steps`` steps."""
        if not self.min_steps or n_samples == 0:
            return self.epochs
        return max(self.epochs, math.ceil(self.min_steps / self.steps_per_epoch(n_samples)))


@dataclass(frozen=True, eq=False)
class Tensors:
    """Normalised images (float32 N x C x H x W in [-1, 1]) and int64 labels."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def from_arrays(cls, images: np.ndarray, labels: np.ndarray) -> "Tensors":
        x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1.0)
        return cls(x, torch.tensor(np.asarray(labels), dtype=torch.int64))

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: np.ndarray | torch.Tensor) -> "Tensors":
        index = torch.as_tensor(indices, dtype=torch.int64)
        return Tensors(self.x[index], self.y[index])


@dataclass
class TrainHistory:
    """Per-epoch loss and accuracy, and each sample's correctness per epoch (epochs x N)."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    correct: np.ndarray | None = None
    seconds: float = 0.0
    extra_epochs: int = 0  # epochs past the schedule (FitTarget, or a retrain matching its original)
    missed_target: bool = False  # a FitTarget's cap reached without fitting


@dataclass(frozen=True, eq=False)
class Evaluation:
    logits: np.ndarray
    losses: np.ndarray
    labels: np.ndarray

    @property
    def probs(self) -> np.ndarray:
        return torch.softmax(torch.from_numpy(self.logits), dim=1).numpy()

    @property
    def preds(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float((self.preds == self.labels).mean()) if len(self.labels) else float("nan")


@contextlib.contextmanager
def deterministic():
    """Deterministic kernels for the duration (restored afterwards)."""
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def batch_order(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """A fresh random permutation of 0..n-1 cut into batches of ``batch_size``; a last batch
    under :func:`short_batch_limit` is merged into the one before it (never a short batch)."""
    cut = list(torch.randperm(n, generator=gen).split(batch_size))
    if has_short_batch(n, batch_size):
        cut[-2:] = [torch.cat(cut[-2:])]
    return cut


def random_flips(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flip each image horizontally and vertically, each with probability 1/2.

    Works in place on ``x`` (a batch gathered by indexing, hence already a copy) and
    touches only the images that flip: cheaper than building both variants."""
    flip = torch.rand(2, len(x), generator=gen) < 0.5
    x[flip[0]] = x[flip[0]].flip(-1)
    x[flip[1]] = x[flip[1]].flip(-2)
    return x


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def make_optimizer(model: nn.Module, config: TrainConfig, steps_per_epoch: int):
    """SGD and a per-step learning-rate schedule (linear warm-up, then cosine or constant)."""
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(total, int(config.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "constant":
            return 1.0
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def fit(
    model: nn.Module,
    data: Tensors,
    config: TrainConfig,
    *,
    seed: int,
    progress: bool = True,
    desc: str = "train",
    path: ComputePath | None = None,
    until: FitTarget | None = None,
    extra_epochs: int | None = None,
) -> TrainHistory:
    """Train ``model`` in place with cross-entropy; return its history.

    ``path`` changes how the arithmetic runs (see ``ComputePath``); None means
    ``current_path()``, which is eager fp32 unless a ``use_path`` block says otherwise.
    ``until``: train on past the schedule until the model fits (:class:`FitTarget`);
    ``extra_epochs``: exactly that many such epochs, unchecked (a retrain trains as many as its
    original needed; None: the innermost :func:`train_longer`'s, else 0). ``history.extra_epochs``
    says how many ran."""
    path = current_path() if path is None else path
    if not isinstance(path, ComputePath):
        raise TypeError(f"path must be a ComputePath (e.g. choose_path()); got {path!r}")
    if len(data) == 0:
        raise ValueError("cannot train on an empty set")
    if extra_epochs is None:
        extra_epochs = 0 if until is not None else extra_epochs_in_force()
    if extra_epochs < 0 or (until is not None and extra_epochs):
        raise ValueError(f"extra_epochs must be >= 0 and cannot be combined with until; got {extra_epochs} and {until}")
    gen = generator(seed)
    epochs = config.epochs_for(len(data))
    if epochs != config.epochs:
        config = dataclasses.replace(config, epochs=epochs)  # the floor on steps lengthens the schedule too
    optimizer, scheduler = make_optimizer(model, config, config.steps_per_epoch(len(data)))
    history = TrainHistory()
    device = device_of(model)
    start = time.perf_counter()
    default = path == EAGER_FP32  # the default path runs exactly the loop every committed result ran
    forward = model if default else _prepare(model, path)

    def one_epoch(schedule) -> np.ndarray:
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros(len(data), dtype=torch.bool)
        for index in batch_order(len(data), config.batch_size, gen):
            x, y = data.x[index], data.y[index]
            if config.flips:
                x = random_flips(x, gen)
            if default:
                logits = model(x.to(device))
                loss = F.cross_entropy(logits, y.to(device))
            else:
                with _autocast(path, device):
                    logits = forward(_to_input(x, path, device))
                    loss = F.cross_entropy(logits, y.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            total_loss += loss.detach() * len(index)
            correct[index] = logits.detach().argmax(1).cpu() == y
        history.loss.append(total_loss.item() / len(data))
        history.accuracy.append(correct.float().mean().item())
        return correct.numpy()

    rows = []
    with deterministic():
        model.train()
        bar = tqdm(range(config.epochs), desc=desc, disable=not progress, leave=False)
        for _ in bar:
            rows.append(one_epoch(scheduler))
            bar.set_postfix(loss=f"{history.loss[-1]:.3f}", acc=f"{history.accuracy[-1]:.3f}")
        if until is not None or extra_epochs:
            lr_factor, cap = (until.lr_factor, until.max_extra_epochs(config.epochs)) if until else (EXTENSION_LR_FACTOR, extra_epochs)
            for group in optimizer.param_groups:  # the extension runs at a constant rate, the scheduler stopped
                group["lr"] = config.lr * lr_factor

            def fits() -> bool:  # eval-mode training accuracy: the memorization target's measure
                return until is not None and evaluate(model, data, path=path).accuracy >= until.train_acc

            fitted = fits()
            while history.extra_epochs < cap and not fitted:
                model.train()
                if path.channels_last:  # the check's evaluation put the weights back in the default layout
                    model.to(memory_format=torch.channels_last)
                rows.append(one_epoch(None))
                history.extra_epochs += 1
                fitted = fits()
            history.missed_target = until is not None and not fitted
    history.correct = np.stack(rows) if rows else np.zeros((0, len(data)), dtype=bool)
    _restore(model, path)
    history.seconds = time.perf_counter() - start
    return history


def evaluate(model: nn.Module, data: Tensors, *, batch_size: int = 1024, path: ComputePath | None = None) -> Evaluation:
    """Per-sample logits and cross-entropy losses in eval mode (the model's mode is restored).

    ``path`` as in ``fit``; under a bf16 path the logits are computed in bf16 and returned as fp32.
    The weights change layout (channels-last and back) outside inference mode: converted inside it,
    they would become inference tensors, and no later training could backpropagate through them."""
    path = current_path() if path is None else path
    was_training = model.training
    model.eval()
    device = device_of(model)
    forward = model if path == EAGER_FP32 else _prepare(model, path)
    with torch.inference_mode():
        if path == EAGER_FP32:
            logits = [model(data.x[i : i + batch_size].to(device)).cpu() for i in range(0, len(data), batch_size)]
        else:
            with _autocast(path, device):
                logits = [forward(_to_input(data.x[i : i + batch_size], path, device)).float().cpu()
                          for i in range(0, len(data), batch_size)]
        logits = torch.cat(logits) if logits else torch.zeros((0, 0))
        losses = F.cross_entropy(logits, data.y, reduction="none") if len(data) else torch.zeros(0)
        evaluation = Evaluation(logits.numpy(), losses.numpy(), data.y.numpy())
    if path != EAGER_FP32:
        _restore(model, path)
    model.train(was_training)
    return evaluation


if TYPE_CHECKING:
    from .data import ImageDataset


@dataclass(frozen=True, eq=False)
class StudyData:
    """A dataset with its images as tensors, ready for training and evaluation."""

    dataset: ImageDataset
    tensors: Tensors

    def split(self, name: str) -> np.ndarray:
        return self.dataset.split_indices(name)
