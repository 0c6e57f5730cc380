"""A small line chart as PNG with the standard library only (no matplotlib needed)."""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from pathlib import Path

Color = tuple[int, int, int]

# 3x5 bitmap glyphs, enough for axis numbers and short labels.
_FONT = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    ".": "000000000000010",
    "k": "100101110101101",
    "s": "000111100011111",
    "m": "000111111101101",
    "x": "000101010101000",
    "v": "000101101101010",
    "b": "100100111101111",
    "f": "011010111010010",
    "j": "001000001101111",
    "q": "111101111001001",
    "z": "111001010100111",
    "=": "000111000111000",
    "y": "000101101111001",
    "t": "010111010010011",
    "o": "000111101101111",
    "e": "000111111100111",
    "n": "000110101101101",
    "l": "110010010010111",
    "i": "010000010010010",
    "p": "000111101111100",
    "w": "000101101111111",
    "a": "000011101101011",
    "r": "000111100100100",
    "c": "000111100100111",
    "d": "001001111101111",
    "g": "000111101111001",
    "h": "100100111101101",
    "u": "000101101101111",
    ",": "000000000010100",
    " ": "000000000000000",
    "-": "000000111000000",
    "/": "001001010100100",
    "(": "010100100100010",
    ")": "010001001001010",
}


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def dot(self, x: int, y: int, color: Color, size: int = 1) -> None:
        for dx in range(size):
            for dy in range(size):
                px, py = x + dx, y + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    i = (py * self.width + px) * 3
                    self.pixels[i : i + 3] = bytes(color)

    def line(
        self, a: tuple[float, float], b: tuple[float, float], color: Color, w: int = 1
    ) -> None:
        steps = int(max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1))
        for s in range(steps + 1):
            t = s / steps
            self.dot(round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), color, w)

    def text(self, x: int, y: int, text: str, color: Color, scale: int = 2) -> None:
        for ch in text.lower():
            glyph = _FONT.get(ch, _FONT[" "])
            for i, bit in enumerate(glyph):
                if bit == "1":
                    self.dot(x + (i % 3) * scale, y + (i // 3) * scale, color, scale)
            x += 4 * scale

    def save(self, path: Path) -> None:
        rows = b"".join(
            b"\x00" + bytes(self.pixels[y * self.width * 3 : (y + 1) * self.width * 3])
            for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        path.write_bytes(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b"")
        )


def _label(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def chart(
    path: Path,
    xs: list[float],
    series: list[tuple[str, list[float], Color]],
    *,
    title: str,
) -> None:
    """Lines over a log10 x axis; each series scaled to its own maximum (0..max on the left
    axis as a fraction), with its maximum written in its legend entry."""
    width, height, left, right, top, bottom = 720, 420, 60, 40, 50, 50
    canvas = Canvas(width, height)
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = math.log10(min(xs)), math.log10(max(xs))
    grey, black = (200, 200, 200), (0, 0, 0)

    def px(x: float) -> float:
        return left + (math.log10(x) - lo) / (hi - lo or 1) * plot_w

    for i in range(5):
        y = top + plot_h * i / 4
        canvas.line((left, y), (left + plot_w, y), grey)
        canvas.text(8, round(y) - 5, f"{100 - 25 * i}", black)
    for x in xs:
        canvas.line((px(x), top), (px(x), top + plot_h), grey)
        canvas.text(round(px(x)) - 8, top + plot_h + 10, _label(x), black)
    canvas.line((left, top + plot_h), (left + plot_w, top + plot_h), black)
    canvas.line((left, top), (left, top + plot_h), black)
    canvas.text(left, 12, title, black)
    for n, (name, ys, color) in enumerate(series):
        peak = max(ys) or 1.0
        points = [(px(x), top + plot_h - y / peak * plot_h) for x, y in zip(xs, ys, strict=True)]
        for a, b in itertools.pairwise(points):
            canvas.line(a, b, color, 2)
        for p in points:
            canvas.dot(round(p[0]) - 2, round(p[1]) - 2, color, 5)
        canvas.text(left + 10 + n * 330, height - 22, f"{name} (100 = {peak:g})", color)
    canvas.save(path)


def bars(
    path: Path,
    groups: list[str],
    series: list[tuple[str, list[float], Color]],
    *,
    title: str,
    top_value: float = 100.0,
) -> None:
    """Grouped vertical bars on one 0..top_value axis, each bar's value written above it."""
    width, height, left, right, top, bottom = 760, 420, 50, 20, 50, 70
    canvas = Canvas(width, height)
    plot_w, plot_h = width - left - right, height - top - bottom
    grey, black = (200, 200, 200), (0, 0, 0)
    for i in range(5):
        y = top + plot_h * i / 4
        canvas.line((left, y), (left + plot_w, y), grey)
        canvas.text(6, round(y) - 5, _label(top_value * (4 - i) / 4), black)
    canvas.line((left, top + plot_h), (left + plot_w, top + plot_h), black)
    canvas.text(left, 12, title, black)
    slot = plot_w / len(groups)
    bar = slot * 0.8 / len(series)
    for g, name in enumerate(groups):
        x0 = left + g * slot + slot * 0.1
        canvas.text(round(x0), top + plot_h + 10, name, black)
        for s, (_label_text, values, color) in enumerate(series):
            value = max(0.0, min(values[g], top_value))
            h = round(value / top_value * plot_h)
            x = round(x0 + s * bar)
            for dx in range(max(1, round(bar) - 2)):
                canvas.line((x + dx, top + plot_h - h), (x + dx, top + plot_h), color)
            canvas.text(x, top + plot_h - h - 14, f"{values[g]:.0f}", color, 1)
    for s, (label, _values, color) in enumerate(series):
        canvas.text(left + s * 200, height - 24, label, color)
    canvas.save(path)
