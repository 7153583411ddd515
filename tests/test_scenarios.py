"""Forget-set scenarios."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from unlearnlib.data import ImageDataset, make_synthetic
from unlearnlib.scenarios import (
    FORGET_SIZE_FRACTIONS,
    SCENARIOS,
    ForgetSplit,
    by_difficulty,
    by_sex,
    class_wise,
    difficulty_forget_sets,
    difficulty_scores,
    make_scenario,
    matched_label_counts,
    patient_level,
    random_fraction,
    sex_forget_sets,
)


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


# ---------------------------------------------------------------- helpers


def assert_partitions_train(dataset, split: ForgetSplit) -> None:
    """Sorted int indices, disjoint, together exactly the training split, both non-empty."""
    train = dataset.split_indices("train")
    for part in (split.forget, split.retain):
        assert np.issubdtype(part.dtype, np.integer)
        assert np.all(np.diff(part) > 0)
    assert len(split.forget) and len(split.retain)
    assert not np.intersect1d(split.forget, split.retain).size
    np.testing.assert_array_equal(np.union1d(split.forget, split.retain), train)
    assert len(split.forget) + len(split.retain) == len(train)


def label_counts(dataset, indices) -> np.ndarray:
    return np.bincount(dataset.labels[indices], minlength=dataset.num_classes)


def with_metadata(dataset, **columns) -> ImageDataset:
    metadata = dataset.metadata.copy()
    for name, values in columns.items():
        metadata[name] = values
    return dataclasses.replace(dataset, metadata=metadata)


def constructed_scores(dataset, seed=0) -> pd.DataFrame:
    n = len(dataset.split_indices("train"))
    rng = np.random.default_rng(seed)
    return difficulty_scores(rng.exponential(size=n), rng.random((6, n)) < rng.random(n))


# ---------------------------------------------------------------- random fraction


def test_forget_size_fractions_are_the_studys_curve():
    assert FORGET_SIZE_FRACTIONS == (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)


def test_random_fraction_differs_across_seeds(synthetic):
    a = random_fraction(synthetic, fraction=0.2, seed=0)
    b = random_fraction(synthetic, fraction=0.2, seed=1)
    assert_partitions_train(synthetic, a)
    assert not np.array_equal(a.forget, b.forget)


# ---------------------------------------------------------------- patient level


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.3])
def test_patient_level_takes_whole_groups_up_to_the_target(fraction):
    dataset = make_synthetic(n_samples=400, num_classes=3, image_size=8, images_per_group=3, seed=1)
    train = dataset.split_indices("train")
    split = patient_level(dataset, fraction=fraction, seed=0)
    assert_partitions_train(dataset, split)
    groups = dataset.metadata["group"].to_numpy()
    assert not set(groups[split.forget]) & set(groups[split.retain])
    # Each forgotten group is there with every one of its training images.
    train_groups = pd.Series(groups[train]).value_counts()
    forget_groups = pd.Series(groups[split.forget]).value_counts()
    pd.testing.assert_series_equal(forget_groups, train_groups[forget_groups.index], check_names=False)
    # Stops at the first group that reaches the target: without the last group it was short.
    target = max(1, round(fraction * len(train)))
    assert target <= len(split.forget) < target + train_groups.max()
    assert f"{len(split.forget) / len(train):.1%}" in split.description


def test_patient_level_is_seeded(synthetic):
    a = patient_level(synthetic, fraction=0.1, seed=3)
    np.testing.assert_array_equal(a.forget, patient_level(synthetic, fraction=0.1, seed=3).forget)
    assert not np.array_equal(a.forget, patient_level(synthetic, fraction=0.1, seed=4).forget)


def test_patient_level_handles_groups_of_uneven_size(synthetic):
    # One big patient among pairs: whichever groups are drawn, none is split.
    groups = synthetic.metadata["group"].to_numpy().copy()
    train = synthetic.split_indices("train")
    groups[train[:50]] = "big-patient"
    dataset = with_metadata(synthetic, group=groups)
    for seed in range(5):
        split = patient_level(dataset, fraction=0.2, seed=seed)
        assert_partitions_train(dataset, split)
        assert not set(groups[split.forget]) & set(groups[split.retain])


@pytest.mark.parametrize("fraction", [0, 1])
def test_patient_level_rejects_invalid_fractions(synthetic, fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        patient_level(synthetic, fraction=fraction, seed=0)


# ---------------------------------------------------------------- by sex


def test_matched_label_counts_follow_the_training_mix(synthetic):
    train = synthetic.split_indices("train")
    counts = matched_label_counts(synthetic, 60, {"any": train})
    assert counts.sum() == 60
    expected = 60 * label_counts(synthetic, train) / len(train)
    assert np.all(np.abs(counts - expected) < 1)  # largest remainder: off by less than one


def test_matched_label_counts_name_the_shortfall(synthetic):
    train = synthetic.split_indices("train")
    females = train[synthetic.metadata["sex"].to_numpy()[train] == "female"]
    counts_needed = matched_label_counts(synthetic, 200, {"any": train})
    have = label_counts(synthetic, females)
    c = int(np.argmax(counts_needed - have))
    short = counts_needed[c] - have[c]
    name = synthetic.class_names[c]
    message = (
        f"needs {counts_needed[c]} '{name}' images but train has only {have[c]} female '{name}' images "
        f"(short by {short})"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        matched_label_counts(synthetic, 200, {"female": females})


def test_sex_forget_sets_are_pure_and_share_one_label_mix(synthetic):
    sets = sex_forget_sets(synthetic, size=60, seed=0)
    assert set(sets) == {"male", "female", "mixed"}
    sex = synthetic.metadata["sex"].to_numpy()
    for name, split in sets.items():
        assert_partitions_train(synthetic, split)
        assert len(split.forget) == 60
        assert "60" in split.description
    assert set(sex[sets["male"].forget]) == {"male"}
    assert set(sex[sets["female"].forget]) == {"female"}
    assert set(sex[sets["mixed"].forget]) == {"male", "female"}
    counts = [label_counts(synthetic, s.forget) for s in sets.values()]
    np.testing.assert_array_equal(counts[0], counts[1])
    np.testing.assert_array_equal(counts[0], counts[2])
    np.testing.assert_array_equal(counts[0], matched_label_counts(synthetic, 60, {}))


def test_by_sex_matches_sex_forget_sets_and_is_seeded(synthetic):
    sets = sex_forget_sets(synthetic, size=40, seed=5)
    for sex in ("male", "female", "mixed"):
        alone = by_sex(synthetic, sex=sex, size=40, seed=5)
        np.testing.assert_array_equal(alone.forget, sets[sex].forget)
        other = by_sex(synthetic, sex=sex, size=40, seed=6)
        assert not np.array_equal(alone.forget, other.forget)


def test_unknown_sex_is_never_in_a_sex_specific_forget_set(synthetic):
    sex = synthetic.metadata["sex"].to_numpy().copy()
    train = synthetic.split_indices("train")
    sex[train[::4]] = "unknown"
    sex[train[1::8]] = None
    dataset = with_metadata(synthetic, sex=sex)
    for seed in range(3):
        for name, split in sex_forget_sets(dataset, size=50, seed=seed).items():
            assert_partitions_train(dataset, split)
            assert set(sex[split.forget]) <= {"male", "female"}


def test_by_sex_reports_a_pool_that_is_too_small(synthetic):
    train = synthetic.split_indices("train")
    with pytest.raises(ValueError, match=r"short by \d+.*largest size every pool can serve is \d+"):
        sex_forget_sets(synthetic, size=len(train) - 1, seed=0)
    with pytest.raises(ValueError, match=r"female forget set of 250 needs \d+ 'class\d' images .*\(short by \d+\)"):
        by_sex(synthetic, sex="female", size=250, seed=0)


def test_sex_scenarios_need_sex_metadata(synthetic):
    no_sex = with_metadata(synthetic, sex=None)
    assert not no_sex.has_sex
    with pytest.raises(ValueError, match="records no patient sex"):
        sex_forget_sets(no_sex, size=20, seed=0)
    with pytest.raises(ValueError, match="records no patient sex"):
        by_sex(no_sex, sex="male", size=20, seed=0)


def test_by_sex_rejects_bad_arguments(synthetic):
    with pytest.raises(ValueError, match="'male', 'female' or 'mixed'"):
        by_sex(synthetic, sex="other", size=20, seed=0)
    with pytest.raises(ValueError, match="reference_mix"):
        by_sex(synthetic, sex="male", size=20, seed=0, reference_mix=[10, 5, 4])
    with pytest.raises(ValueError, match="forget size must be an integer between 1 and"):
        by_sex(synthetic, sex="male", size=0, seed=0)


# ---------------------------------------------------------------- by difficulty


def test_difficulty_scores_columns():
    losses = np.array([0.1, 2.0, 0.5])
    correct = np.array([[True, False, False], [True, False, True]])
    scores = difficulty_scores(losses, correct)
    assert list(scores.columns) == ["loss", "learning_speed"]
    np.testing.assert_allclose(scores["loss"], losses)
    np.testing.assert_allclose(scores["learning_speed"], [1.0, 0.0, 0.5])
    with pytest.raises(ValueError, match="epochs x N"):
        difficulty_scores(losses, correct[:, :2])


@pytest.mark.parametrize("score", ["loss", "learning_speed"])
def test_easy_hard_random_share_size_and_label_mix(synthetic, score):
    scores = constructed_scores(synthetic)
    sets = difficulty_forget_sets(synthetic, scores=scores, size=45, seed=0, score=score)
    assert set(sets) == {"easy", "hard", "random"}
    counts = [label_counts(synthetic, s.forget) for s in sets.values()]
    for split, count in zip(sets.values(), counts):
        assert_partitions_train(synthetic, split)
        assert len(split.forget) == 45
        np.testing.assert_array_equal(count, counts[0])
    train = synthetic.split_indices("train")
    values = scores[score].to_numpy()
    mean = {k: values[np.searchsorted(train, s.forget)].mean() for k, s in sets.items()}
    if score == "loss":
        assert mean["easy"] < mean["random"] < mean["hard"]
    else:  # high learning speed = easy
        assert mean["easy"] > mean["random"] > mean["hard"]


def test_easy_and_hard_are_the_extremes_within_each_label(synthetic):
    train = synthetic.split_indices("train")
    scores = constructed_scores(synthetic)
    loss = scores["loss"].to_numpy()
    sets = difficulty_forget_sets(synthetic, scores=scores, size=30, seed=0)
    labels = synthetic.labels[train]
    easy = np.isin(train, sets["easy"].forget)
    hard = np.isin(train, sets["hard"].forget)
    for c in range(synthetic.num_classes):
        in_c = labels == c
        assert loss[easy & in_c].max() <= loss[~easy & in_c].min()
        assert loss[hard & in_c].min() >= loss[~hard & in_c].max()


def test_difficulty_ties_are_broken_deterministically(synthetic):
    train = synthetic.split_indices("train")
    flat = difficulty_scores(np.ones(len(train)), np.ones((3, len(train)), dtype=bool))
    a = difficulty_forget_sets(synthetic, scores=flat, size=30, seed=0)
    b = difficulty_forget_sets(synthetic, scores=flat, size=30, seed=1)
    np.testing.assert_array_equal(a["easy"].forget, b["easy"].forget)
    np.testing.assert_array_equal(a["hard"].forget, b["hard"].forget)
    assert not np.array_equal(a["random"].forget, b["random"].forget)
    # Stable sort: among equal scores, the earliest training samples of each label come first.
    labels = synthetic.labels[train]
    counts = label_counts(synthetic, a["easy"].forget)
    expected = np.concatenate([train[labels == c][:n] for c, n in enumerate(counts)])
    np.testing.assert_array_equal(a["easy"].forget, np.sort(expected))


def test_difficulty_rejects_mismatched_scores(synthetic):
    scores = constructed_scores(synthetic)
    with pytest.raises(ValueError, match="one row per training image"):
        difficulty_forget_sets(synthetic, scores=scores.iloc[:-1], size=20, seed=0)
    with pytest.raises(ValueError, match="score must be one of"):
        difficulty_forget_sets(synthetic, scores=scores, size=20, seed=0, score="margin")
    with pytest.raises(ValueError, match="kind must be one of"):
        by_difficulty(synthetic, kind="medium", scores=scores, size=20, seed=0)


# ---------------------------------------------------------------- class-wise


@pytest.mark.parametrize("label", [1, "class1"])
def test_class_wise_takes_every_training_image_of_the_class(synthetic, label):
    train = synthetic.split_indices("train")
    split = class_wise(synthetic, label=label, seed=0)
    assert_partitions_train(synthetic, split)
    assert set(synthetic.labels[split.forget]) == {1}
    assert 1 not in set(synthetic.labels[split.retain])
    assert len(split.forget) == (synthetic.labels[train] == 1).sum()


@pytest.mark.parametrize("label", [3, -1, "class9"])
def test_class_wise_rejects_unknown_classes(synthetic, label):
    with pytest.raises(ValueError, match="unknown class"):
        class_wise(synthetic, label=label, seed=0)


def test_class_wise_needs_a_non_empty_retain_set():
    one_class = make_synthetic(n_samples=100, num_classes=1, image_size=8, seed=0)
    with pytest.raises(ValueError, match="leaves no retain set"):
        class_wise(one_class, label=0, seed=0)


# ---------------------------------------------------------------- registry


def test_make_scenario_dispatches_by_name(synthetic):
    assert set(SCENARIOS) == {"random", "patient", "sex", "difficulty", "class"}
    split = make_scenario("patient", synthetic, fraction=0.1, seed=0)
    np.testing.assert_array_equal(split.forget, patient_level(synthetic, fraction=0.1, seed=0).forget)
    split = make_scenario("sex", synthetic, sex="female", size=20, seed=0)
    assert set(synthetic.metadata["sex"].to_numpy()[split.forget]) == {"female"}


def test_make_scenario_lists_the_known_names(synthetic):
    with pytest.raises(ValueError, match="unknown scenario 'nope'; known scenarios: class, difficulty, patient"):
        make_scenario("nope", synthetic)
