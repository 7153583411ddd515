"""The figure style: every method keeps one distinct look across figures."""
from __future__ import annotations

from unlearnlib.algorithms import available
from unlearnlib.plots import method_style


def test_every_method_has_its_own_colour_and_marker():
    styles = [method_style(m) for m in available()]
    assert len({s["color"] for s in styles}) == len(styles)
    assert len({s["marker"] for s in styles}) == len(styles)
