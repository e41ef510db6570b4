"""Make the neutral placeholder images of this folder (run from the repository root):

    .venv/bin/python certificates/_placeholders/generate.py

They stand in for the real logos, signatures and stamp in the demo and the tests. They are plain
shapes with the word CONTOH ("sample"): no crest, no real signature. The real files are uploaded
by an admin at /admin/branding (see certificates/README.md); nothing here is printed on a
certificate unless a branding version names it.
"""
from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
FONT = HERE.parent / "bimtek" / "fonts" / "EBGaramond12-Regular.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def _centred(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill: tuple) -> None:
    font = _font(size)
    box = draw.textbbox((0, 0), text, font=font)
    draw.text((xy[0] - (box[2] - box[0]) / 2 - box[0], xy[1] - (box[3] - box[1]) / 2 - box[1]), text, font=font,
              fill=fill)


def logo(name: str, colour: tuple[int, int, int], caption: str, sides: int) -> None:
    """A ring with a plain polygon inside and two words: obviously not an emblem of anyone."""
    size = 400
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = size / 2
    d.ellipse((12, 12, size - 12, size - 12), outline=colour + (255,), width=14)
    d.ellipse((44, 44, size - 44, size - 44), outline=colour + (255,), width=4)
    r = 92
    points = [(c + r * math.sin(2 * math.pi * i / sides), c - 40 - r * math.cos(2 * math.pi * i / sides))
              for i in range(sides)]
    d.polygon(points, fill=colour + (70,), outline=colour + (255,), width=6)
    _centred(d, (c, 262), "CONTOH", 58, colour + (255,))
    _centred(d, (c, 308), caption, 28, colour + (255,))
    img.save(HERE / name, optimize=True)


def signature(name: str, seed: int) -> None:
    """A loose pen line in dark blue on a transparent ground, with "contoh" written small beneath."""
    w, h = 600, 240
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    ink = (24, 40, 110, 255)
    pts = []
    for i in range(0, 501):
        t = i / 500
        x = 50 + 480 * t
        y = 110 - 55 * math.sin(2 * math.pi * (1.6 + 0.3 * seed) * t) * math.exp(-1.4 * t) \
            + 24 * math.sin(2 * math.pi * (7 + seed) * t)
        pts.append((x, y))
    d.line(pts, fill=ink, width=7, joint="curve")
    d.line([(90, 175), (470 - 40 * seed, 160)], fill=ink, width=5)
    _centred(d, (w / 2, 214), "contoh tanda tangan", 30, (120, 120, 140, 255))
    img.save(HERE / name, optimize=True)


def stamp(name: str) -> None:
    """A round stamp in translucent violet ink with CONTOH STEMPEL across it."""
    size = 400
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    ink = (92, 52, 160, 170)
    d.ellipse((10, 10, size - 10, size - 10), outline=ink, width=12)
    d.ellipse((40, 40, size - 40, size - 40), outline=ink, width=5)
    d.ellipse((120, 120, size - 120, size - 120), outline=ink, width=4)
    _centred(d, (size / 2, 92), "· CONTOH ·", 44, ink)
    _centred(d, (size / 2, 310), "· STEMPEL ·", 44, ink)
    for i in range(12):
        a = 2 * math.pi * i / 12
        d.ellipse((size / 2 + 50 * math.cos(a) - 5, size / 2 + 50 * math.sin(a) - 5,
                   size / 2 + 50 * math.cos(a) + 5, size / 2 + 50 * math.sin(a) + 5), fill=ink)
    img.save(HERE / name, optimize=True)


if __name__ == "__main__":
    logo("logo-left.png", (20, 33, 61), "LOGO KIRI", 6)
    logo("logo-right.png", (23, 95, 70), "LOGO KANAN", 5)
    signature("signature-1.png", 0)
    signature("signature-2.png", 1)
    signature("signature-3.png", 2)
    stamp("stamp.png")
