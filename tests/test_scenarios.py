"""Forget-set scenarios."""
from __future__ import annotations

import numpy as np
import pytest

from unlearnlib.scenarios import random_fraction


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5])
def test_random_fraction_draws_inside_train_with_the_right_size(synthetic, fraction):
    train = synthetic.split_indices("train")
    split = random_fraction(synthetic, fraction=fraction, seed=0)
    assert len(split.forget) == max(1, round(fraction * len(train)))
    assert not np.intersect1d(split.forget, split.retain).size
    np.testing.assert_array_equal(np.union1d(split.forget, split.retain), train)
    again = random_fraction(synthetic, fraction=fraction, seed=0)
    np.testing.assert_array_equal(split.forget, again.forget)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_invalid_fractions_are_rejected(synthetic, fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        random_fraction(synthetic, fraction=fraction, seed=0)
