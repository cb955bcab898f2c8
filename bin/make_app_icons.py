"""Draws the user app's home-screen icons (webapp/static/icon-*.png), once:
the PNGs are committed, so Pillow is no dependency of the project. Re-run it
(`pip install pillow`, then `python bin/make_app_icons.py`) only to change them.

The favicon's design (webapp/static/favicon.svg): a white-blue ₹ on the top
bar's dark blue. "any" icons have rounded corners; the maskable one is full
bleed with the ₹ inside the central safe zone (the phone cuts its own shape).
"""
from __future__ import annotations

import pathlib

from PIL import Image, ImageDraw, ImageFont

STATIC = pathlib.Path(__file__).resolve().parent.parent / "webapp" / "static"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
DARK, BRAND = "#002e6e", "#00baf2"


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # drawn large, scaled down: smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=DARK)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 7 // 32, fill=DARK)
    glyph = 0.5 if maskable else 0.68  # of the icon's height
    font = ImageFont.truetype(FONT, int(big * glyph))
    pen.text((big / 2, big / 2), "₹", font=font, fill=BRAND, anchor="mm")
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for size in (192, 512):
        draw(size, maskable=False).save(STATIC / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(STATIC / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
