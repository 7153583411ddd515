"""Model factory over timm, plus the small ResNets of the CPU profile registered into timm.

The cpu profile's model, ``resnet_tiny_nopool`` (``resnet_tiny`` without the stem max-pool,
which at 28 px leaves weights that never receive a gradient), was chosen by measurement on a
2-core machine at 28 px: ``benchmarks/choose_regime.py`` and the README
(``benchmarks/choose_cpu_model.py`` made the earlier, accuracy-only choice of ``resnet_tiny``,
now the smoke profile's model).
"""
from __future__ import annotations

import timm
import torch
import torch.nn.functional as F
from timm.models import register_model
from timm.models.resnet import BasicBlock, ResNet
from torch import nn


def _small_resnet(channels: tuple[int, ...], stem_width: int, keep_stem_pool: bool, **kwargs) -> ResNet:
    # A "deep" 3x3 stem (cheap at small sizes) instead of ResNet's 7x7 conv; one block per stage.
    for key in ("pretrained", "pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
        kwargs.pop(key, None)  # timm's factory passes these; our models have no weights to fetch
    model = ResNet(BasicBlock, [1, 1, 1, 1], channels=channels, stem_width=stem_width, stem_type="deep", **kwargs)
    if not keep_stem_pool:  # at 28 px the max-pool would leave 7 x 7 maps for the first stage
        model.maxpool = nn.Identity()
    return model


@register_model
def resnet_tiny(pretrained: bool = False, **kwargs) -> ResNet:
    """ResNet with one BasicBlock per stage, widths 16-128, deep stem of width 8 (0.3 M weights)."""
    return _small_resnet((16, 32, 64, 128), 8, keep_stem_pool=True, **kwargs)


@register_model
def resnet_tiny_nopool(pretrained: bool = False, **kwargs) -> ResNet:
    """``resnet_tiny`` without the stem max-pool: 4x the first stage's resolution."""
    return _small_resnet((16, 32, 64, 128), 8, keep_stem_pool=False, **kwargs)


@register_model
def resnet_small(pretrained: bool = False, **kwargs) -> ResNet:
    """ResNet with one BasicBlock per stage, widths 32-256, deep stem of width 16 (1.2 M weights)."""
    return _small_resnet((32, 64, 128, 256), 16, keep_stem_pool=True, **kwargs)


def create_model(name: str, *, num_classes: int, in_chans: int, image_size: int, seed: int) -> nn.Module:
    """A freshly initialised timm model, the same weights for the same seed.

    ``image_size`` is checked against what the architecture can take: timm's CNNs pool
    globally, so any size from 16 px works; ViT-style models need their native size.
    """
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 px for these models; got {image_size}")
    if not timm.is_model(name):
        raise ValueError(f"unknown model {name!r}; try resnet_tiny, resnet_small, resnet18 or any of timm.list_models()")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_chans)


def dead_weight_share(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 512) -> float:
    """Share of conv / linear weights whose loss gradient over (x, y) is exactly zero.

    Such weights never move under any gradient-based method (at 28 px a 3x3 conv on a
    1x1 map only uses its centre tap), so a saliency mask over them is meaningless."""
    was_training = model.training
    model.eval()
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    grads = [torch.zeros_like(w) for w in weights]
    device = next(model.parameters()).device
    for start in range(0, len(y), batch_size):
        loss = F.cross_entropy(model(x[start : start + batch_size].to(device)), y[start : start + batch_size].to(device), reduction="sum")
        for total, g in zip(grads, torch.autograd.grad(loss, weights)):
            total += g.abs()
    model.train(was_training)
    dead = sum(int((g == 0).sum()) for g in grads)
    return dead / sum(g.numel() for g in grads)
