"""Screenshots of figures/report.html as a reader sees it, in headless Chromium (issue 23).

Chromium's ``--screenshot`` captures one window and cannot scroll, so the page is shot in
bands: a copy of the report whose body is shifted up by ``k x BAND`` pixels, in a window
``BAND`` pixels tall, then cut into pages of ``--page-height``. Pages that are blank (past the
end) are dropped. Needs ``chromium`` (Debian: ``apt-get install chromium``) and Pillow.

    python scripts/report_screenshots.py [--report figures/report.html] [--out /tmp/report-shots] [--width 1280]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

BAND = 20_000  # pixels per Chromium window; larger windows are slow to rasterize


def shoot(html: Path, png: Path, width: int, offset: int) -> None:
    """One band of ``html`` starting ``offset`` pixels down, written to ``png``."""
    shifted = html.with_name(f".shot-{offset}.html")  # beside the report, so its relative links resolve
    text = html.read_text(encoding="utf-8")
    shifted.write_text(text.replace("</head>", f"<style>body{{margin-top:-{offset}px !important}}</style></head>", 1), encoding="utf-8")
    try:
        subprocess.run([shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={width},{BAND}", f"--screenshot={png}", shifted.resolve().as_uri()],
                       check=True, capture_output=True, timeout=300)
    finally:
        shifted.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=Path("figures/report.html"))
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "report-shots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--page-height", type=int, default=1600)
    parser.add_argument("--max-bands", type=int, default=20)
    args = parser.parse_args()
    if not args.report.is_file():
        raise SystemExit(f"no report at {args.report}: run `make figures` first")
    args.out.mkdir(parents=True, exist_ok=True)
    page = 0
    for band in range(args.max_bands):
        png = args.out / f"band-{band:02d}.png"
        shoot(args.report, png, args.width, band * BAND)
        image = Image.open(png).convert("RGB")
        png.unlink()
        blank = True
        for top in range(0, BAND, args.page_height):
            tile = image.crop((0, top, args.width, min(top + args.page_height, BAND)))
            if np.asarray(tile.convert("L")).min() >= 250:  # nothing drawn: past the end of the page
                continue
            blank = False
            tile.save(args.out / f"page-{page:03d}.png", optimize=True)
            page += 1
        if blank:
            break
    print(f"{page} page(s) of {args.report} in {args.out}")


if __name__ == "__main__":
    main()
