"""Deterministic train / evaluate loops over in-memory tensors.

The whole split lives in one float tensor; a batch is an index into it, so the hot loop
has no per-sample Python. Augmentation is random horizontal and vertical flips, applied
to whole batches with masks. Same seed, same thread count: same weights and metrics.

How the arithmetic runs is a separate, opt-in choice (``ComputePath``: channels-last
memory, bf16 autocast, torch.compile); the default is eager fp32, today's loop exactly.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm  # the plain bar: renders in terminals and in executed notebooks alike

from .paths import device
from .settings import COMPUTE_PATH_ENV, read


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


@dataclass(frozen=True)
class ComputePath:
    """How ``fit`` (and ``evaluate``) run the arithmetic, not what they compute.

    Not a field of ``TrainConfig`` on purpose: the recipe is part of every ledger key, the
    path belongs to the code version and machine fingerprint (records of different paths
    must never mix, yet the same recipe on another path is the same experiment)."""

    channels_last: bool = False  # NHWC activations: faster oneDNN convolutions on CPU
    bf16: bool = False  # autocast forward and loss to bfloat16 (weights and optimizer stay fp32)
    compile: bool = False  # torch.compile the model (pays only once its compile time is amortised)

    def label(self) -> str:
        """A short stable name, e.g. ``eager-fp32`` or ``channels_last+bf16``; for code versions."""
        parts = [name for name in ("channels_last", "bf16", "compile") if getattr(self, name)]
        return "+".join(parts) if parts else "eager-fp32"

    @classmethod
    def from_label(cls, label: str) -> "ComputePath":
        """The inverse of ``label`` (for a setting such as ``UNLEARNLIB_COMPUTE_PATH``)."""
        if label == "eager-fp32":
            return cls()
        parts = label.split("+")
        unknown = [part for part in parts if part not in ("channels_last", "bf16", "compile")]
        if unknown or not parts:
            raise ValueError(f"unknown compute path {label!r}: use 'eager-fp32' or a '+'-joined subset of "
                             "channels_last, bf16, compile (e.g. 'channels_last+bf16')")
        return cls(**{part: True for part in parts})


EAGER_FP32 = ComputePath()  # the default: every committed result was trained this way
_CURRENT_PATH = contextvars.ContextVar("compute_path", default=None)


@contextlib.contextmanager
def use_path(path: ComputePath):
    """Run every ``fit`` / ``evaluate`` inside on ``path`` unless one passes its own.

    So a runner can choose the path once, and code that calls ``fit`` (the algorithms,
    whose source digests key their records) need not change."""
    if not isinstance(path, ComputePath):
        raise TypeError(f"path must be a ComputePath (e.g. choose_path()); got {path!r}")
    token = _CURRENT_PATH.set(path)
    try:
        yield path
    finally:
        _CURRENT_PATH.reset(token)


def current_path() -> ComputePath:
    """The path ``fit`` and ``evaluate`` use when not given one: the innermost ``use_path``,
    else the configured one (:func:`configured_path`)."""
    return _CURRENT_PATH.get() or configured_path()


def configured_path() -> ComputePath:
    """The run's path from ``UNLEARNLIB_COMPUTE_PATH``: unset or ``eager-fp32`` is the default
    every committed result used; ``auto`` is :func:`choose_path` on this run's device; else a
    label (``channels_last+bf16``). Records of a non-default path say so in their code version
    and fingerprint (``unlearnlib.provenance``), so they never mix with eager fp32 ones."""
    setting = read(COMPUTE_PATH_ENV)
    if setting in (None, "eager-fp32"):
        return EAGER_FP32
    return choose_path(device()) if setting == "auto" else ComputePath.from_label(setting)


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """Whether ``device`` computes bf16 in hardware (else autocast emulates it, slower than fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: ask torch instead
        return bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)())
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def choose_path(device: torch.device | str = "cpu", *, compile: bool = False) -> ComputePath:
    """The fastest sound path measured on this kind of machine (benchmarks/training_throughput.py).

    bf16 only where the hardware has it natively; channels-last on CPU (oneDNN prefers NHWC;
    on GPU cuDNN picks its own layouts); compile only when the caller says it pays: a
    compile costs tens of seconds on 2 cores, more than it saves on one short training."""
    device = torch.device(device)
    return ComputePath(channels_last=device.type == "cpu", bf16=native_bf16(device), compile=compile)


def _prepare(model: nn.Module, path: ComputePath) -> nn.Module:
    """The module that runs forward passes under ``path`` (``model`` itself on the default path)."""
    if path.channels_last:
        model.to(memory_format=torch.channels_last)
    return torch.compile(model) if path.compile else model


def _restore(model: nn.Module, path: ComputePath) -> None:
    # Weights back to the default layout, so that saving, hashing and later eager use see
    # the same tensors whatever path trained them.
    if path.channels_last:
        model.to(memory_format=torch.contiguous_format)


def _autocast(path: ComputePath, device: torch.device):
    if path.bf16:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _to_input(x: torch.Tensor, path: ComputePath, device: torch.device) -> torch.Tensor:
    x = x.to(device)
    return x.contiguous(memory_format=torch.channels_last) if path.channels_last else x


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
    original's recipe, trains as long as its original did (the method's source, which keys its
    rows, need not change)."""
    if extra_epochs < 0:
        raise ValueError(f"extra_epochs must be >= 0; got {extra_epochs}")
    token = _EXTRA_EPOCHS.set(int(extra_epochs))
    try:
        yield
    finally:
        _EXTRA_EPOCHS.reset(token)


# Both training rules of issue 32 (no short batch; an original trained on until it fits), written
# into every ledger row computed under them (provenance.stamp; training_rules.py says which older
# rows they change).
TRAINING_RULES = "merge-last-batch-under-1/5;fit-to-target"


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
        extra_epochs = 0 if until is not None else _EXTRA_EPOCHS.get()
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
            for group in optimizer.param_groups:  # the extension runs at a constant rate, the scheduler stopped
                group["lr"] = config.lr * (until.lr_factor if until is not None else EXTENSION_LR_FACTOR)
            cap = until.max_extra_epochs(config.epochs) if until is not None else extra_epochs
            while history.extra_epochs < cap and (until is None or _fit_accuracy(model, data, path) < until.train_acc):
                model.train()
                if path.channels_last:  # the check's evaluation put the weights back in the default layout
                    model.to(memory_format=torch.channels_last)
                rows.append(one_epoch(None))
                history.extra_epochs += 1
            if until is not None and history.extra_epochs == cap and _fit_accuracy(model, data, path) < until.train_acc:
                history.missed_target = True
    history.correct = np.stack(rows) if rows else np.zeros((0, len(data)), dtype=bool)
    _restore(model, path)
    history.seconds = time.perf_counter() - start
    return history


def _fit_accuracy(model: nn.Module, data: Tensors, path: ComputePath) -> float:
    """Eval-mode accuracy on the training set (the memorization target's measure)."""
    return evaluate(model, data, path=path).accuracy


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
