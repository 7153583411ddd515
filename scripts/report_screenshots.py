"""Screenshots of figures/report.html as a reader sees it, in headless Chromium (issue 23), from a
copy of the single file alone: fails (exit 1) when any image on the page did not load.

The report must stand alone, so it is first copied, by itself, into an empty folder: an image
that still depended on a file beside the report would not load there. Chromium then opens the
copy with a small script appended that, once the page has loaded, lists every ``<img>`` whose
``naturalWidth`` is 0 (not loaded or not decodable); ``--dump-dom`` prints the result.

Chromium's ``--screenshot`` captures one window and cannot scroll, so the page is shot in
bands: a copy of the report whose body is shifted up by ``k x BAND`` pixels, in a window
``BAND`` pixels tall, then cut into pages of ``--page-height``. Pages that are blank (past the
end) are dropped. Needs ``chromium`` (Debian: ``apt-get install chromium``) and Pillow.

    python scripts/report_screenshots.py [--report figures/report.html] [--out /tmp/report-shots] [--width 1280]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

BAND = 20_000  # pixels per Chromium window; larger windows are slow to rasterize

# Runs after every image has loaded or failed (the load event waits for both).
_IMAGE_CHECK = """<script>window.addEventListener('load', () => {
  const images = [...document.images];
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 60));
  const out = document.createElement('pre'); out.id = 'image-check';
  out.textContent = JSON.stringify({images: images.length, broken: broken});
  document.body.appendChild(out);
});</script>"""


def _chromium(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          check=True, capture_output=True, text=True, timeout=timeout)


def alone(report: Path, folder: Path) -> Path:
    """A copy of ``report`` with nothing beside it."""
    copy = folder / report.name
    shutil.copyfile(report, copy)
    return copy


def broken_images(html: Path) -> tuple[int, list[str]]:
    """How many ``<img>`` the page has, and those Chromium could not show (their alt text)."""
    checked = html.with_name(".image-check.html")
    checked.write_text(html.read_text(encoding="utf-8").replace("</body>", _IMAGE_CHECK + "</body>", 1), encoding="utf-8")
    try:
        dom = _chromium("--virtual-time-budget=30000", "--dump-dom", checked.resolve().as_uri()).stdout
    finally:
        checked.unlink(missing_ok=True)
    found = re.search(r"<pre id=\"image-check\">(.*?)</pre>", dom, re.S)
    if found is None:
        raise SystemExit(f"Chromium did not finish loading {html} (no image check in its DOM)")
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    expected = len(re.findall(r"<img\b", html.read_text(encoding="utf-8")))
    if result["images"] != expected:
        raise SystemExit(f"Chromium saw {result['images']} images, the file has {expected} <img> tags")
    return result["images"], result["broken"]


def shoot(html: Path, png: Path, width: int, offset: int) -> None:
    """One band of ``html`` starting ``offset`` pixels down, written to ``png``."""
    shifted = html.with_name(f".shot-{offset}.html")
    text = html.read_text(encoding="utf-8")
    shifted.write_text(text.replace("</head>", f"<style>body{{margin-top:-{offset}px !important}}</style></head>", 1), encoding="utf-8")
    try:
        _chromium(f"--window-size={width},{BAND}", f"--screenshot={png}", shifted.resolve().as_uri())
    finally:
        shifted.unlink(missing_ok=True)


def screenshots(html: Path, out: Path, *, width: int, page_height: int, max_bands: int) -> int:
    """Pages of ``html`` as PNGs in ``out``; returns how many."""
    page = 0
    for band in range(max_bands):
        png = out / f"band-{band:02d}.png"
        shoot(html, png, width, band * BAND)
        image = Image.open(png).convert("RGB")
        png.unlink()
        blank = True
        for top in range(0, BAND, page_height):
            tile = image.crop((0, top, width, min(top + page_height, BAND)))
            if np.asarray(tile.convert("L")).min() >= 250:  # nothing drawn: past the end of the page
                continue
            blank = False
            tile.save(out / f"page-{page:03d}.png", optimize=True)
            page += 1
        if blank:
            break
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=Path("figures/report.html"))
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "report-shots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--page-height", type=int, default=1600)
    parser.add_argument("--max-bands", type=int, default=20)
    parser.add_argument("--check-only", action="store_true", help="check the images, take no screenshots")
    args = parser.parse_args()
    if not args.report.is_file():
        raise SystemExit(f"no report at {args.report}: run `make figures` first")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        copy = alone(args.report, Path(folder))
        count, broken = broken_images(copy)
        print(f"{count - len(broken)} of {count} images shown from a lone copy of {args.report}")
        if not args.check_only:
            pages = screenshots(copy, args.out, width=args.width, page_height=args.page_height, max_bands=args.max_bands)
            print(f"{pages} page(s) of {args.report} in {args.out}")
    if broken:
        print("images that did not load: " + ", ".join(broken), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
