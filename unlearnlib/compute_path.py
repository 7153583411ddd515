"""How ``fit`` and ``evaluate`` run the arithmetic (not what they compute): the opt-in compute
paths (channels-last memory, bf16 autocast, torch.compile), the one in force, and the fastest
sound one measured on this kind of machine. The default is eager fp32, the loop every early
committed result ran; a profile names its path (``Profile.compute_path``)."""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .paths import device
from .settings import COMPUTE_PATH_ENV, read


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

    So a runner can choose the path once, and code that calls ``fit`` (the algorithms)
    need not change."""
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


# Every row is computed at this many torch threads, serially or on a Dask worker: CPU kernels sum in
# an order that depends on the count, so a row's numbers then depend on neither the scheduler nor the
# machine's core count (parallelism is across rows). Every committed row was made at 1.
TASK_THREADS = 1


def pin_task_threads() -> int:
    """Run this process's torch at :data:`TASK_THREADS` from now on; returns the count it had."""
    before = torch.get_num_threads()
    if before != TASK_THREADS:
        torch.set_num_threads(TASK_THREADS)
    return before


@contextlib.contextmanager
def task_threads():
    """Compute inside at :data:`TASK_THREADS` torch threads, then restore the count."""
    before = pin_task_threads()
    try:
        yield TASK_THREADS
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


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
