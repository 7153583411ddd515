"""The model factory (timm plus the small ResNets registered into it) and the dead-weight diagnostic."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from unlearnlib.models import create_model, dead_weight_share


@pytest.mark.parametrize("name, weights", [("resnet_tiny", 0.3e6), ("resnet_tiny_nopool", 0.3e6), ("resnet_small", 1.2e6),
                                           ("resnet18", 11.2e6)])
@pytest.mark.parametrize("in_chans, num_classes, image_size", [(1, 2, 28), (3, 7, 16)])
def test_each_model_maps_a_batch_of_images_to_one_logit_per_class(name, weights, in_chans, num_classes, image_size):
    model = create_model(name, num_classes=num_classes, in_chans=in_chans, image_size=image_size, seed=0)
    with torch.no_grad():
        logits = model.eval()(torch.randn(5, in_chans, image_size, image_size))
    assert logits.shape == (5, num_classes)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(weights, rel=0.15)  # the sizes their docstrings give


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    def weights(seed):
        return torch.cat([p.flatten() for p in create_model("resnet_tiny", num_classes=3, in_chans=1, image_size=28, seed=seed).parameters()])

    assert torch.equal(weights(4), weights(4)) and not torch.equal(weights(4), weights(5))


def test_create_model_names_what_it_refuses():
    with pytest.raises(ValueError, match="unknown model 'resnet_huge'"):
        create_model("resnet_huge", num_classes=2, in_chans=1, image_size=28, seed=0)
    with pytest.raises(ValueError, match="at least 16 px.*got 8"):
        create_model("resnet_tiny", num_classes=2, in_chans=1, image_size=8, seed=0)


def _two_layer(dead_units: int) -> nn.Module:
    """16 inputs -> 4 ReLU units -> 3 classes; ``dead_units`` units never fire (a huge negative bias)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        model[0].bias[:dead_units] = -1e6
    return model


def test_dead_weight_share_counts_the_weights_of_units_that_never_fire():
    x, y = torch.randn(100, 16), torch.randint(0, 3, (100,))
    assert dead_weight_share(_two_layer(0), x, y) == 0
    # 2 dead units: their 2 x 16 input weights and 3 x 2 output weights, of 4 x 16 + 3 x 4.
    model = _two_layer(2).train()
    assert dead_weight_share(model, x, y, batch_size=7) == pytest.approx((2 * 16 + 3 * 2) / (4 * 16 + 3 * 4))
    assert model.training  # the model's mode is restored
