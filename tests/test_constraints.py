"""Declared constraints: intervals, options and the messages that name what is allowed."""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pytest

from unlearnlib.constraints import EPOCHS, SHARE, WEIGHT, InstanceOf, Interval, Options, allowed, domain, problem, require, satisfied


@pytest.mark.parametrize(
    ("interval", "inside", "outside"),
    [
        (Interval(Real, 0, 1, closed="neither"), [0.5, 1e-9, np.float32(0.25)], [0, 1, -0.1, 1.5, float("nan"), True, "0.5"]),
        (Interval(Real, 0, 1, closed="right"), [1, 1.0, 0.3], [0, 0.0, 1.0001]),
        (Interval(Real, 0, 1, closed="left"), [0, 0.999], [1, -1e-12]),
        (Interval(Real, 0, None, closed="neither"), [1e-12, 10, 1e9], [0, -1, None]),
        (Interval(Integral, 1, None, closed="left"), [1, 7, np.int64(3)], [0, -1, 2.0, 3.5, True, False]),
        (Interval(Integral, 0, 10, closed="both"), [0, 10], [-1, 11]),
    ],
)
def test_an_interval_holds_its_numbers_and_no_others(interval, inside, outside):
    assert all(interval.is_satisfied_by(v) for v in inside), [v for v in inside if not interval.is_satisfied_by(v)]
    assert not any(interval.is_satisfied_by(v) for v in outside), [v for v in outside if interval.is_satisfied_by(v)]


@pytest.mark.parametrize(
    ("constraint", "words"),
    [
        (Interval(Real, 0, 1, closed="neither"), "a number in (0, 1)"),
        (Interval(Real, 0, 1, closed="right"), "a number in (0, 1]"),
        (Interval(Real, 0, None, closed="neither"), "a number > 0"),
        (Interval(Integral, 1, None, closed="left"), "an integer >= 1"),
        (Interval(Integral, None, 5, closed="neither"), "an integer < 5"),
        (Options(str, ("group", "image")), "one of 'group', 'image'"),
        (InstanceOf(str, "a class name"), "a class name"),
    ],
)
def test_a_constraint_says_what_it_allows_in_words(constraint, words):
    assert str(constraint) == words


def test_options_keep_their_type_and_order():
    units = Options(str, ["group", "image"])
    assert units.is_satisfied_by("image") and not units.is_satisfied_by("lesion")
    assert not Options(int, (0, 1)).is_satisfied_by(True)  # YAML's true is not the option 1
    assert units.options == ("group", "image")


def test_a_domain_allows_a_value_that_any_constraint_allows_and_names_them_all_otherwise():
    epochs = domain(Interval(Integral, 1, None, closed="left"), None)
    assert satisfied(None, epochs) and satisfied(3, epochs) and not satisfied(0, epochs)
    assert allowed(epochs) == "an integer >= 1 or None (null)"
    assert problem("epochs", 3, epochs) is None
    assert problem("epochs", "all", epochs) == "epochs='all' is not allowed; epochs must be an integer >= 1 or None (null)"
    with pytest.raises(ValueError, match=r"epochs=0 is not allowed; epochs must be an integer >= 1 or None \(null\)"):
        require("epochs", 0, epochs)
    assert domain(str) == (InstanceOf(str),)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Interval(float, 0, 1), "Interval type must be numbers.Integral or numbers.Real; got <class 'float'>"),
        (lambda: Interval(Real, 0, 1, closed="open"), "Interval closed must be one of ('left', 'right', 'both', 'neither'); got 'open'"),
        (lambda: Interval(Real, 2, 1), "Interval low must not exceed high; got low=2, high=1"),
        (lambda: domain(), "a domain needs at least one constraint"),
    ],
)
def test_a_malformed_declaration_is_refused_naming_the_bad_value(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        make()


def test_each_method_declares_its_own_domains_beside_it():
    # A name may mean something else in one method: each method's module says what its fields allow.
    from unlearnlib.algorithms import hyperparameter_domain

    assert hyperparameter_domain("neggrad_plus", "alpha") == domain(Interval(Real, 0, 1, closed="both"))
    assert hyperparameter_domain("l1_sparse", "alpha") == WEIGHT
    assert not satisfied(0.0, hyperparameter_domain("ssd", "alpha"))  # 0 would select every parameter
    assert satisfied(None, hyperparameter_domain("retrain", "epochs"))
    assert not satisfied(None, hyperparameter_domain("finetune", "epochs")) and hyperparameter_domain("finetune", "epochs") == EPOCHS
    assert hyperparameter_domain("salun", "saliency") == SHARE and not satisfied(0.0, SHARE) and satisfied(1.0, SHARE)
    assert hyperparameter_domain("finetune", "nosuch") is None
