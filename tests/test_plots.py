"""The figure style: every method keeps one distinct look across figures."""
from __future__ import annotations

from unlearnlib.algorithms import available
from unlearnlib.plots import method_style


def test_every_method_has_its_own_colour_and_marker():
    styles = [method_style(m) for m in available()]
    assert len({s["color"] for s in styles}) == len(styles)
    assert len({s["marker"] for s in styles}) == len(styles)


def test_saving_a_figure_twice_writes_the_same_bytes(tmp_path, monkeypatch):
    import time

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unlearnlib.paths import FIGURES_DIR_ENV
    from unlearnlib.plots import save_figure

    monkeypatch.setenv(FIGURES_DIR_ENV, str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    first = [open(p, "rb").read() for p in save_figure(fig, "twice")]
    time.sleep(1.1)  # a creation date in the PDF would now differ by a second
    second = [open(p, "rb").read() for p in save_figure(fig, "twice")]
    plt.close(fig)
    assert first == second
