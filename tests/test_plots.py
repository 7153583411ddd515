"""The figure style: every method keeps one distinct look across figures."""
from __future__ import annotations

import pytest

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
    files = [tmp_path / f"twice.{suffix}" for suffix in ("png", "pdf", "caption.txt")]
    assert save_figure(fig, "twice", caption="A line.") is None  # a returned path would be printed in the notebook
    first = [p.read_bytes() for p in files]
    time.sleep(1.1)  # a creation date in the PDF would now differ by a second
    save_figure(fig, "twice", caption="A line.")
    second = [p.read_bytes() for p in files]
    plt.close(fig)
    assert first == second and first[2] == b"A line.\n"


def test_a_figure_without_a_caption_is_refused(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unlearnlib.paths import FIGURES_DIR_ENV
    from unlearnlib.plots import save_figure

    monkeypatch.setenv(FIGURES_DIR_ENV, str(tmp_path))
    fig = plt.figure()
    with pytest.raises(ValueError, match="figure 'bare' needs a caption"):
        save_figure(fig, "bare", caption=" ")
    plt.close(fig)
    assert not list(tmp_path.iterdir())
