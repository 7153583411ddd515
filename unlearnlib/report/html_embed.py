"""Figures embedded in the HTML report, so that the page stands alone: each PNG becomes a
``data:image/png;base64,...`` URI, re-encoded smaller and deterministically (the same PNG gives
the same bytes, so ``make figures`` still rewrites the report byte for byte).

A plot (few distinct colours: flat fills plus the anti-aliasing of its lines and text) is
reduced to a 256-colour palette, which looks the same and is a third of the size; a figure
with more colours than :data:`MAX_PLOT_COLOURS` holds photographs (the example images of
notebooks 00 and 05), where a palette would band the skin tones, so it stays lossless RGB.
"""
from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

from PIL import Image

DATA_URI_PREFIX = "data:image/png;base64,"
# The committed plots hold 260-3,750 distinct colours, the photographs 65,000 and more.
MAX_PLOT_COLOURS = 16_384
PALETTE_COLOURS = 256


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: matplotlib's figures are opaque, and the alpha channel only costs bytes."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def is_plot(image: Image.Image) -> bool:
    """Whether ``image`` has at most :data:`MAX_PLOT_COLOURS` distinct colours (a chart, not a photograph)."""
    return image.getcolors(MAX_PLOT_COLOURS) is not None


def compact_png(path: Path) -> bytes:
    """The PNG at ``path`` re-encoded for the page: a palette for a plot, lossless RGB for a
    photograph, without metadata (no time, no software name), zlib at its highest level."""
    return _compact(Path(path).read_bytes())


@functools.lru_cache(maxsize=64)
def _compact(png: bytes) -> bytes:
    # Keyed by content: a rebuild of an unchanged figure (tests build the report often) is free.
    with Image.open(io.BytesIO(png)) as source:
        image = _flatten(source)
    if is_plot(image):
        # Median cut without dithering is deterministic and keeps flat fills flat.
        image = image.quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def png_data_uri(path: Path) -> str:
    """``path`` as a ``data:`` URI for an ``<img src>``."""
    return DATA_URI_PREFIX + base64.b64encode(compact_png(path)).decode("ascii")


def decode_data_uri(uri: str) -> bytes:
    """The bytes of a URI written by :func:`png_data_uri` (tests and the screenshot script check them)."""
    if not uri.startswith(DATA_URI_PREFIX):
        raise ValueError(f"not an embedded PNG: {uri[:40]!r}...; every figure must be a {DATA_URI_PREFIX!r} URI")
    return base64.b64decode(uri[len(DATA_URI_PREFIX):], validate=True)
