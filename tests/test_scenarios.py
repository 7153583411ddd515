"""Forget-set scenarios."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from conftest import REAL_DATA, needs_real
from unlearnlib.data import ImageDataset, make_synthetic
from unlearnlib.scenarios import (
    FORGET_SIZE_FRACTIONS,
    STRATUM_SHARE,
    ForgetSplit,
    available_scenarios,
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
    split = random_fraction(synthetic, fraction=fraction, seed=0, unit="image")
    assert len(split.forget) == max(1, round(fraction * len(train)))
    assert not np.intersect1d(split.forget, split.retain).size
    np.testing.assert_array_equal(np.union1d(split.forget, split.retain), train)
    again = random_fraction(synthetic, fraction=fraction, seed=0, unit="image")
    np.testing.assert_array_equal(split.forget, again.forget)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_invalid_fractions_are_rejected(synthetic, fraction):
    with pytest.raises(ValueError, match=re.escape(f"fraction={fraction!r} is not allowed; fraction must be a number in (0, 1)")):
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
    scores = difficulty_scores(rng.exponential(size=n), rng.random((6, n)) < rng.random(n))
    scores["memorization"] = rng.random(n)  # the caller's columns: the default score and its alternative
    scores["memorization_prob"] = rng.random(n)
    return scores


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
    with pytest.raises(ValueError, match=re.escape("fraction must be a number in (0, 1)")):
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


@pytest.mark.parametrize("unit", ["image", "group"])
def test_unknown_sex_is_never_in_a_sex_specific_forget_set(synthetic, unit):
    sex = synthetic.metadata["sex"].to_numpy().copy()
    train = synthetic.split_indices("train")
    sex[train[::4]] = "unknown"
    sex[train[1::8]] = None
    dataset = with_metadata(synthetic, sex=sex)
    for seed in range(3):
        for name, split in sex_forget_sets(dataset, size=30, seed=seed, unit=unit).items():
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
    with pytest.raises(ValueError, match="sex='other' is not allowed; sex must be one of 'male', 'female', 'mixed'"):
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


@pytest.mark.parametrize("score", ["memorization", "memorization_prob", "loss", "learning_speed"])
def test_easy_hard_random_share_size_and_label_mix(synthetic, score):
    scores = constructed_scores(synthetic)
    sets = difficulty_forget_sets(synthetic, scores=scores, size=45, seed=0, score=score, unit="image")
    assert set(sets) == {"easy", "hard", "random"}
    counts = [label_counts(synthetic, s.forget) for s in sets.values()]
    for split, count in zip(sets.values(), counts):
        assert_partitions_train(synthetic, split)
        assert len(split.forget) == 45
        np.testing.assert_array_equal(count, counts[0])
    train = synthetic.split_indices("train")
    values = scores[score].to_numpy()
    mean = {k: values[np.searchsorted(train, s.forget)].mean() for k, s in sets.items()}
    if score != "learning_speed":
        assert mean["easy"] < mean["random"] < mean["hard"]
    else:  # high learning speed = easy
        assert mean["easy"] > mean["random"] > mean["hard"]


def stratum_edges(values: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label: the largest value of its easy fifth and the smallest of its hard fifth (continuous values)."""
    low, high = np.empty(num_classes), np.empty(num_classes)
    for c in range(num_classes):
        ranked = np.sort(values[labels == c])
        n = int(np.ceil(STRATUM_SHARE * len(ranked)))
        low[c], high[c] = ranked[n - 1], ranked[-n]
    return low, high


def test_stratum_share_is_a_fifth():
    assert STRATUM_SHARE == 0.2


def test_easy_and_hard_images_are_drawn_inside_their_per_label_stratum(synthetic):
    train = synthetic.split_indices("train")
    labels = synthetic.labels[train]
    scores = constructed_scores(synthetic)
    loss = scores["loss"].to_numpy()
    low, high = stratum_edges(loss, labels, synthetic.num_classes)
    for seed in range(5):
        sets = difficulty_forget_sets(synthetic, scores=scores, size=30, seed=seed, score="loss", unit="image")
        for kind, inside in (("easy", lambda v, c: v <= low[c]), ("hard", lambda v, c: v >= high[c])):
            chosen = np.searchsorted(train, sets[kind].forget)
            assert all(inside(loss[i], labels[i]) for i in chosen), (kind, seed)
        assert "drawn from the easy stratum (the 20% least difficult of each label by loss)" in sets["easy"].description


@pytest.mark.parametrize("unit", ["image", "group"])
def test_difficulty_sets_are_fresh_draws_in_every_seed(synthetic, unit):
    scores = constructed_scores(synthetic)
    draws = [difficulty_forget_sets(synthetic, scores=scores, size=30, seed=seed, unit=unit) for seed in range(5)]
    for kind in ("easy", "hard", "random"):
        assert len({tuple(d[kind].forget) for d in draws}) == 5, kind  # five seeds, five different sets
    np.testing.assert_array_equal(  # and each draw is a function of its seed
        difficulty_forget_sets(synthetic, scores=scores, size=30, seed=1, unit=unit)["easy"].forget, draws[1]["easy"].forget)


def test_difficulty_ties_are_broken_deterministically(synthetic):
    train = synthetic.split_indices("train")
    labels = synthetic.labels[train]
    flat = difficulty_scores(np.ones(len(train)), np.ones((3, len(train)), dtype=bool))
    # Stable sort: among equal scores, the stratum is the earliest training samples of each label.
    stratum = np.concatenate([train[labels == c][: int(np.ceil(STRATUM_SHARE * np.sum(labels == c)))]
                              for c in range(synthetic.num_classes)])
    for seed in (0, 1):
        sets = difficulty_forget_sets(synthetic, scores=flat, size=30, seed=seed, score="loss", unit="image")
        assert np.isin(sets["easy"].forget, stratum).all() and np.isin(sets["hard"].forget, stratum).all()


def test_accuracy_based_memorization_ties_are_ordered_by_the_probability_based_one(synthetic):
    train = synthetic.split_indices("train")
    labels = synthetic.labels[train]
    scores = constructed_scores(synthetic)
    scores["memorization"] = 0.0  # every image ties on the accuracy-based score
    prob = scores["memorization_prob"].to_numpy()
    low, high = stratum_edges(prob, labels, synthetic.num_classes)
    sets = difficulty_forget_sets(synthetic, scores=scores, size=30, seed=0, unit="image")
    easy, hard = np.searchsorted(train, sets["easy"].forget), np.searchsorted(train, sets["hard"].forget)
    assert (prob[easy] <= low[labels[easy]]).all() and (prob[hard] >= high[labels[hard]]).all()


def test_a_size_a_stratum_cannot_serve_is_refused_with_what_it_holds(synthetic):
    scores = constructed_scores(synthetic)
    for unit, units in (("image", "images"), ("group", "groups")):
        with pytest.raises(ValueError) as refused:
            by_difficulty(synthetic, kind="random", scores=scores, size=100, seed=0, unit=unit)
        message = str(refused.value)
        assert "size=100 cannot be drawn from the strata by memorization" in message
        assert f"the 20% least or most difficult {units} of each label" in message
        assert re.search(r"needs \d+ '\w+' images, but the easy stratum holds \d+", message)
        fits = int(re.search(r"the largest size both can serve is (\d+)", message).group(1))
        assert 0 < fits < 100
        by_difficulty(synthetic, kind="hard", scores=scores, size=fits, seed=0, unit=unit)  # the size it names works


def test_difficulty_rejects_mismatched_scores(synthetic):
    scores = constructed_scores(synthetic)
    with pytest.raises(ValueError, match="one row per training image"):
        difficulty_forget_sets(synthetic, scores=scores.iloc[:-1], size=20, seed=0)
    with pytest.raises(ValueError, match="score must be one of"):
        difficulty_forget_sets(synthetic, scores=scores, size=20, seed=0, score="margin")
    with pytest.raises(ValueError, match=r"scores have no 'memorization' column \(columns: \['loss', 'learning_speed'\]\)"):
        difficulty_forget_sets(synthetic, scores=scores.drop(columns=["memorization", "memorization_prob"]), size=20, seed=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        by_difficulty(synthetic, kind="medium", scores=scores, size=20, seed=0)


# ---------------------------------------------------------------- whole groups


@pytest.fixture(scope="module")
def uneven():
    """Groups of 1, 3 and 6 images; a few 6-image groups join a male and a female patient."""
    dataset = make_synthetic(n_samples=600, num_classes=3, image_size=8, images_per_group=3, seed=2)
    meta = dataset.metadata
    groups = meta["group"].to_numpy().copy()
    train_groups = meta.loc[meta["split"] == "train", "group"].unique()
    for g in train_groups[::4]:  # a quarter of the groups become one-image groups
        rows = np.flatnonzero(groups == g)
        groups[rows] = [f"{g}-{i}" for i in range(len(rows))]
    first = meta.drop_duplicates("group").set_index("group")
    merged = 0
    for label in range(dataset.num_classes):  # join pairs of same-label groups, one male and one female
        males = [g for g in train_groups[1::4] if first.loc[g, "label"] == label and first.loc[g, "sex"] == "male"]
        females = [g for g in train_groups[1::4] if first.loc[g, "label"] == label and first.loc[g, "sex"] == "female"]
        for m, f in list(zip(males, females))[:3]:
            groups[groups == f] = m
            merged += 1
    assert merged >= 6
    return with_metadata(dataset, group=groups)


def group_ids(dataset, indices) -> set:
    return set(dataset.metadata["group"].to_numpy()[indices])


def assert_whole_groups(dataset, split: ForgetSplit) -> None:
    assert_partitions_train(dataset, split)
    assert not group_ids(dataset, split.forget) & group_ids(dataset, split.retain)


def every_scenario(dataset, seed=0, **unit):
    """One forget split of each scenario (and each sex and difficulty kind) on ``dataset``."""
    scores = constructed_scores(dataset)
    yield "random", make_scenario("random", dataset, fraction=0.1, seed=seed, **unit)
    yield "patient", make_scenario("patient", dataset, fraction=0.1, seed=seed)
    for sex in ("male", "female", "mixed"):
        yield sex, make_scenario("sex", dataset, sex=sex, size=40, seed=seed, **unit)
    for kind in ("easy", "hard", "random"):
        yield f"{kind} difficulty", make_scenario("difficulty", dataset, kind=kind, scores=scores, size=40, seed=seed, **unit)
    yield "class", make_scenario("class", dataset, label=1, seed=seed)


def test_every_scenario_forgets_whole_groups_by_default(uneven):
    for seed in range(3):
        for name, split in every_scenario(uneven, seed):
            assert_whole_groups(uneven, split)


def test_unit_image_splits_groups_and_keeps_exact_sizes(uneven):
    train = uneven.split_indices("train")
    splits = dict(every_scenario(uneven, unit="image"))
    assert len(splits["random"].forget) == round(0.1 * len(train))
    assert all(len(splits[k].forget) == 40 for k in ("male", "female", "mixed", "easy difficulty", "hard difficulty"))
    # Image-level draws do split groups: what unit="group" is there to prevent.
    assert group_ids(uneven, splits["random"].forget) & group_ids(uneven, splits["random"].retain)


def test_group_draws_are_seeded(uneven):
    a, b, c = (dict(every_scenario(uneven, seed)) for seed in (0, 0, 1))
    for name in a:
        np.testing.assert_array_equal(a[name].forget, b[name].forget)
        assert a[name].description == b[name].description
    for name in ("random", "male", "female", "mixed", "easy difficulty", "hard difficulty", "random difficulty"):
        assert not np.array_equal(a[name].forget, c[name].forget)


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.1, 0.3])
def test_random_groups_meet_the_size_as_closely_as_groups_allow(uneven, synthetic, fraction):
    # Tolerance: one-image groups fill any gap, so the size is exact on `uneven`; with only
    # two-image groups (`synthetic`) an odd size is missed by one image.
    for dataset, tolerance in ((uneven, 0), (synthetic, 1)):
        train = dataset.split_indices("train")
        target = max(1, round(fraction * len(train)))
        for seed in range(3):
            split = random_fraction(dataset, fraction=fraction, seed=seed)
            assert_whole_groups(dataset, split)
            assert abs(len(split.forget) - target) <= tolerance
            assert f"{len(split.forget)} of {len(train)} training images" in split.description
            assert f"(requested {target})" in split.description


def test_sex_groups_share_one_size_and_mix_even_when_groups_cannot_meet_it(synthetic):
    # Two-image groups cannot fill odd per-label counts: all three sets step down together.
    requested = matched_label_counts(synthetic, 61, {})
    assert (requested % 2).any()
    for seed in range(3):
        sets = sex_forget_sets(synthetic, size=61, seed=seed)
        counts = [label_counts(synthetic, s.forget) for s in sets.values()]
        for split, count in zip(sets.values(), counts):
            assert_whole_groups(synthetic, split)
            np.testing.assert_array_equal(count, counts[0])
            assert f"{len(split.forget)} of" in split.description and "(requested 61)" in split.description
        assert (counts[0] <= requested).all() and (requested - counts[0] <= 1).all()
        for sex in ("male", "female", "mixed"):
            np.testing.assert_array_equal(by_sex(synthetic, sex=sex, size=61, seed=seed).forget, sets[sex].forget)


def test_sex_groups_are_of_one_sex_and_match_the_label_mix(uneven):
    sex = uneven.metadata["sex"].to_numpy()
    groups = uneven.metadata["group"].to_numpy()
    sets = sex_forget_sets(uneven, size=50, seed=0)
    expected = matched_label_counts(uneven, 50, {})
    for name, split in sets.items():
        assert_whole_groups(uneven, split)
        np.testing.assert_array_equal(label_counts(uneven, split.forget), expected)
    assert set(sex[sets["male"].forget]) == {"male"} and set(sex[sets["female"].forget]) == {"female"}
    # The groups that join a male and a female image are in no one-sex set (but may be mixed).
    two_sexed = {g for g in set(groups) if len(set(sex[groups == g])) == 2}
    assert two_sexed and not two_sexed & (group_ids(uneven, sets["male"].forget) | group_ids(uneven, sets["female"].forget))


def test_difficulty_groups_are_drawn_from_the_fifths_of_their_labels_group_means(synthetic):
    train = synthetic.split_indices("train")
    scores = constructed_scores(synthetic)
    codes, _ = pd.factorize(synthetic.metadata["group"].to_numpy()[train])
    group_mean = pd.Series(scores["memorization"].to_numpy()).groupby(codes).mean()
    group_label = pd.Series(synthetic.labels[train]).groupby(codes).first()
    low, high = stratum_edges(group_mean.to_numpy(), group_label.to_numpy(), synthetic.num_classes)
    for seed in range(3):
        sets = difficulty_forget_sets(synthetic, scores=scores, size=40, seed=seed)
        counts = [label_counts(synthetic, s.forget) for s in sets.values()]
        for split, count in zip(sets.values(), counts):
            assert_whole_groups(synthetic, split)
            np.testing.assert_array_equal(count, counts[0])
        for kind, split in (("easy", sets["easy"]), ("hard", sets["hard"])):
            chosen = np.unique(codes[np.isin(train, split.forget)])
            means, labels = group_mean[chosen].to_numpy(), group_label[chosen].to_numpy()
            if kind == "easy":
                assert (means <= low[labels]).all()
            else:
                assert (means >= high[labels]).all()


def test_groups_without_ids_are_single_images(synthetic):
    no_groups = with_metadata(synthetic, group=None)  # as if every image were its own group (MedMNIST)
    train = no_groups.split_indices("train")
    for fraction in (0.01, 0.1, 0.3):
        split = random_fraction(no_groups, fraction=fraction, seed=0)
        assert_partitions_train(no_groups, split)
        assert len(split.forget) == round(fraction * len(train))
    assert len(by_sex(no_groups, sex="female", size=33, seed=0).forget) == 33


@pytest.mark.parametrize("unit", ["lesion", "images", None])
def test_an_unknown_unit_is_refused_by_name(synthetic, unit):
    scores = constructed_scores(synthetic)
    calls = [
        lambda: random_fraction(synthetic, fraction=0.1, seed=0, unit=unit),
        lambda: by_sex(synthetic, sex="male", size=20, seed=0, unit=unit),
        lambda: sex_forget_sets(synthetic, size=20, seed=0, unit=unit),
        lambda: by_difficulty(synthetic, kind="easy", scores=scores, size=20, seed=0, unit=unit),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=re.escape(f"unit={unit!r} is not allowed; unit must be one of 'group', 'image'")):
            call()


def test_a_size_no_whole_group_fits_is_explained(synthetic):
    # Two-image groups only and a one-image-per-label request: nothing fits.
    with pytest.raises(ValueError, match="no whole group fits a male forget set of 3.*unit='image'"):
        by_sex(synthetic, sex="male", size=3, seed=0)


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def ham10000_labels_only():
    """HAM10000 with its real metadata and lesion-level split, but no pixels: forget-set
    selection never looks at them, and decoding 10,015 JPEGs would take a minute."""
    from unittest import mock

    from unlearnlib.data import ham10000, load_dataset

    def no_pixels(files, image_size, cache_dir):
        return np.zeros((len(files.metadata), 1, 1, 1), dtype=np.uint8)

    with mock.patch.object(ham10000, "_load_images", no_pixels):
        return load_dataset("ham10000", data_dir=REAL_DATA)


@needs_real("ham10000")
def test_ham10000_forget_requests_take_whole_lesions(ham10000_labels_only):
    ds = ham10000_labels_only
    train = ds.split_indices("train")
    random = make_scenario("random", ds, fraction=0.1, seed=0)
    female = make_scenario("sex", ds, sex="female", size=350, seed=0)
    male = make_scenario("sex", ds, sex="male", size=350, seed=0)
    scores = constructed_scores(ds)
    hard = make_scenario("difficulty", ds, kind="hard", scores=scores, size=350, seed=0)
    for split in (random, female, male, hard):
        assert_whole_groups(ds, split)
    # Thousands of one-image lesions fill any gap: the sizes are met exactly.
    assert len(random.forget) == round(0.1 * len(train))
    assert len(female.forget) == len(male.forget) == len(hard.forget) == 350
    np.testing.assert_array_equal(label_counts(ds, female.forget), label_counts(ds, male.forget))
    # The image-level draw it replaces leaves lesions on both sides (issue 9: 279 of them).
    images = make_scenario("random", ds, fraction=0.1, seed=0, unit="image")
    assert len(group_ids(ds, images.forget) & group_ids(ds, images.retain)) > 100


@needs_real("breastmnist")
def test_breastmnist_images_are_their_own_groups():
    from unlearnlib.data import load_dataset

    ds = load_dataset("breastmnist", data_dir=REAL_DATA)
    train = ds.split_indices("train")
    assert ds.metadata["group"].iloc[train].nunique() == len(train)
    for fraction in (0.05, 0.1, 0.5):
        assert len(random_fraction(ds, fraction=fraction, seed=0).forget) == round(fraction * len(train))


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
    assert available_scenarios() == ("class", "difficulty", "patient", "random", "sex")
    split = make_scenario("patient", synthetic, fraction=0.1, seed=0)
    np.testing.assert_array_equal(split.forget, patient_level(synthetic, fraction=0.1, seed=0).forget)
    split = make_scenario("sex", synthetic, sex="female", size=20, seed=0)
    assert set(synthetic.metadata["sex"].to_numpy()[split.forget]) == {"female"}


def test_make_scenario_lists_the_known_names(synthetic):
    with pytest.raises(ValueError, match="unknown scenario 'nope'; known scenarios: class, difficulty, patient"):
        make_scenario("nope", synthetic)


def test_make_scenario_refuses_unknown_parameters_by_name(synthetic):
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['fractio'\] for scenario 'random'; its parameters are fraction, unit"):
        make_scenario("random", synthetic, fractio=0.1, seed=0)


def test_defaults_and_required_parameters_come_from_the_signature():
    from unlearnlib.scenarios import REQUIRED, get_scenario

    random = get_scenario("random")
    assert random.defaults == {"fraction": REQUIRED, "unit": "group"}
    assert get_scenario("difficulty").defaults["score"] == "memorization"
    assert get_scenario("difficulty").inputs == ("scores",)
    assert get_scenario("sex").python_only == ("reference_mix",)


def test_a_declaration_that_does_not_match_its_function_is_refused_at_registration():
    from unlearnlib.constraints import Interval
    from unlearnlib.scenarios import register_scenario
    from numbers import Real

    def half(dataset, *, fraction, seed, unit="group"):
        raise AssertionError("never called")

    with pytest.raises(TypeError, match=r"params declares \['fraction'\] but half takes \['fraction', 'unit'\]"):
        register_scenario("half", params={"fraction": Interval(Real, 0, 1)})(half)
    with pytest.raises(ValueError, match="scenario 'random' is registered twice"):
        register_scenario("random", params={"fraction": Interval(Real, 0, 1), "unit": str})(half)
    assert "half" not in available_scenarios()


def test_one_decorated_function_is_a_new_scenario(synthetic, monkeypatch):
    from unlearnlib.constraints import Interval
    from unlearnlib.scenarios import registry
    from numbers import Integral

    monkeypatch.setattr(registry, "_SCENARIOS", dict(registry._SCENARIOS))  # leave the real registry as it was

    @registry.register_scenario("first", params={"count": Interval(Integral, 1, None, closed="left")})
    def first_images(dataset, *, count, seed):
        train = dataset.split_indices("train")
        return ForgetSplit(train[:count], train[count:], f"first {count}")

    assert "first" in available_scenarios()
    assert registry.scenario_problems("first", {"count": 0}) == [
        "scenario 'first': count=0 is not allowed; count must be an integer >= 1"]
    assert len(make_scenario("first", synthetic, count=5, seed=0).forget) == 5


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("random", {"fraction": 0.1}, []),
        ("random", {"fraction": 1}, ["fraction=1 is not allowed; fraction must be a number in (0, 1)"]),
        ("random", {"fractio": 0.1}, ["unknown parameter 'fractio' for scenario 'random'", "needs the parameter 'fraction'"]),
        ("sex", {"sex": "other", "size": 350}, ["sex='other' is not allowed; sex must be one of 'male', 'female', 'mixed'"]),
        ("sex", {"sex": "male", "size": -1}, ["size=-1 is not allowed; size must be an integer >= 1"]),
        ("sex", {"sex": "male", "size": 3.5}, ["size=3.5 is not allowed"]),
        ("difficulty", {"kind": "hard", "size": 10, "score": "margin"}, ["score='margin' is not allowed"]),
        ("class", {"label": "nv"}, []),
        ("class", {"label": True}, ["label=True is not allowed"]),
        ("patient", {"fraction": 0.1, "unit": "image"}, ["unknown parameter 'unit' for scenario 'patient'"]),
        ("random", {"fraction": 0.1, "seed": 3}, ["the seed comes from the grid's seeds"]),
        ("lesion", {}, ["unknown scenario 'lesion'; known scenarios: class, difficulty, patient, random, sex"]),
    ],
)
def test_scenario_problems_name_the_bad_parameter(name, params, expected):
    from unlearnlib.scenarios import scenario_problems

    problems = scenario_problems(name, params)
    assert len(problems) == len(expected)
    for problem, text in zip(problems, expected):
        assert text in problem
