"""Pieces the unlearning methods share: optimiser, the guarded training step, batch pairing,
distillation loss, random labels."""
from __future__ import annotations

import itertools
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..training import Tensors, batch_order, device_of, generator, random_flips
from .base import DivergedError


def sgd(model: nn.Module, lr: float, *, momentum: float = 0.9, weight_decay: float = 5e-4) -> torch.optim.SGD:
    """SGD as the SalUn / Unlearn-Sparse code builds it (momentum 0.9, weight decay 5e-4)."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, *, before_update: Callable[[], None] | None = None) -> None:
    """One optimiser step; a non-finite loss stops the method (an ascent that ran away)
    instead of writing NaN weights that would be scored as a result."""
    if not bool(torch.isfinite(loss.detach()).all()):
        raise DivergedError(f"the training loss is {loss.detach().flatten()[0].item()}, not finite")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if before_update is not None:
        before_update()
    optimizer.step()


def batches(data: Tensors, batch_size: int, gen: torch.Generator, *, flips: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One shuffled pass over ``data`` as (images, labels) batches, flipped like training."""
    for index in batch_order(len(data), batch_size, gen):
        x = random_flips(data.x[index], gen) if flips else data.x[index]
        yield x, data.y[index]


def paired_batches(
    retain: Tensors, forget: Tensors, batch_size: int, gen: torch.Generator, *, flips: bool = True
) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]]:
    """One pass over the retain set; each retain batch comes with a forget batch, the
    (smaller) forget set being cycled through as often as needed."""
    forget_stream = itertools.chain.from_iterable(batches(forget, batch_size, gen, flips=flips) for _ in itertools.count())
    for retain_batch in batches(retain, batch_size, gen, flips=flips):
        yield retain_batch, next(forget_stream)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) on temperature-softened outputs, scaled by T^2 (Hinton et al.)."""
    return (
        F.kl_div(
            F.log_softmax(student_logits / temperature, dim=1),
            F.log_softmax(teacher_logits / temperature, dim=1),
            log_target=True,
            reduction="batchmean",
        )
        * temperature**2
    )


def to_device(model: nn.Module, *tensors: torch.Tensor) -> list[torch.Tensor]:
    device = device_of(model)
    return [t.to(device) for t in tensors]


def uniform_labels(n: int, num_classes: int, gen: torch.Generator) -> torch.Tensor:
    """Labels drawn uniformly over all classes, as the reference RL code (np.random.randint):
    a drawn label equals the true one with probability 1/K."""
    return torch.randint(0, num_classes, (n,), generator=gen)


__all__ = [
    "batches", "distillation_loss", "generator", "paired_batches", "sgd", "step", "to_device", "uniform_labels",
]
