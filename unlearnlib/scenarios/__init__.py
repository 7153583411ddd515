"""Forget-set selection: who asks to be forgotten. Every draw is seeded and inside train.

Scenarios: a random fraction of train, whole patients, one sex (with a matched label mix),
easy / hard samples (seeded draws from the least / most difficult fifth of each label, with a
matched label mix), and one whole class. Each returns a
:class:`ForgetSplit` whose forget and retain sets partition the training split.

Whole groups. A patient who withdraws consent withdraws every image of their lesion, so
``random``, ``sex`` and ``difficulty`` draw whole groups (metadata ``group``: a HAM10000
lesion, a patient elsewhere) by default, ``unit="group"``; ``unit="image"`` draws single
images as before. An image without a group id is its own group, so on datasets where every
image is its own group (MedMNIST) the two units draw the same kind of set. Whole groups
meet the requested size as closely as their sizes allow:

- ``random``: groups in a seeded order, each taken if it still fits the requested size,
  then one that overshoots if that lands closer; exact whenever the remaining gap can be
  filled by a group of that size (HAM10000 has thousands of single-image lesions).
- ``sex`` and ``difficulty``: the matched per-label counts are the target and are never
  exceeded. Male-only, female-only and mixed sets (easy, hard and random sets) are drawn
  together and, if one falls short of a label's count, all are redrawn with the counts
  they can all reach, so sets of one request keep one size and one diagnosis mix.

The actual size is ``len(split.forget)`` and is stated in ``split.description``.

Each scenario is one function registered with ``@register_scenario`` (see ``registry``);
``available_scenarios()`` lists them and ``make_scenario(name, dataset, ...)`` runs one.
"""
from __future__ import annotations

from .common import FORGET_SIZE_FRACTIONS, UNITS, ForgetSplit, matched_label_counts
from .registry import (REQUIRED, Scenario, available_scenarios, get_scenario, make_scenario, register_scenario,
                       scenario_inputs, scenario_problems)

# Importing a family registers its scenarios.
from .random_draws import patient_level, random_fraction
from .sex import SEXES, by_sex, sex_forget_sets
from .difficulty import (DIFFICULTY_KINDS, DIFFICULTY_SCORES, STRATUM_SHARE, by_difficulty, difficulty_forget_sets,
                         difficulty_scores)
from .classwise import class_wise

__all__ = [
    "DIFFICULTY_KINDS", "DIFFICULTY_SCORES", "FORGET_SIZE_FRACTIONS", "REQUIRED", "SEXES", "STRATUM_SHARE", "UNITS", "ForgetSplit",
    "Scenario", "available_scenarios", "by_difficulty", "by_sex", "class_wise", "difficulty_forget_sets",
    "difficulty_scores", "get_scenario", "make_scenario", "matched_label_counts", "patient_level", "random_fraction",
    "register_scenario", "scenario_inputs", "scenario_problems", "sex_forget_sets",
]
