"""Line and bar charts as PNG, drawn with Pillow (matplotlib is not a dependency of f2p)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

from f2p_engine.files import atomic_output

WIDTH, HEIGHT = 720, 420
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 20, 40, 50
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    step = 10 ** math.floor(math.log10((high - low) / count))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= count:
            step *= factor
            break
    first = math.floor(low / step) * step
    return [first + i * step for i in range(math.ceil((high - first) / step - 1e-9) + 1)]


def _canvas(title: str, xlabel: str, ylabel: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((WIDTH // 2, 12), title, fill="black", font=font, anchor="mt")
    draw.text((WIDTH // 2, HEIGHT - 12), xlabel, fill="black", font=font, anchor="mb")
    draw.text((8, MARGIN_TOP - 20), ylabel, fill="black", font=font)
    return image, draw


def line_plot(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: str | os.PathLike[str], *,
              title: str, xlabel: str, ylabel: str) -> None:
    """Draw named (xs, ys) series on shared linear axes and write a PNG atomically."""
    points = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    image, draw = _canvas(title, xlabel, ylabel)
    if points:
        x_ticks = _ticks(min(p[0] for p in points), max(p[0] for p in points))
        y_ticks = _ticks(min(p[1] for p in points), max(p[1] for p in points))
        x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
        plot_w, plot_h = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

        def to_pixel(x: float, y: float) -> tuple[float, float]:
            return (MARGIN_LEFT + (x - x0) / (x1 - x0) * plot_w, MARGIN_TOP + (y1 - y) / (y1 - y0) * plot_h)

        for y in y_ticks:
            px, py = to_pixel(x0, y)
            draw.line([(MARGIN_LEFT, py), (WIDTH - MARGIN_RIGHT, py)], fill="#e0e0e0")
            draw.text((px - 6, py), f"{y:g}", fill="black", anchor="rm")
        for x in x_ticks:
            px, py = to_pixel(x, y0)
            draw.text((px, py + 6), f"{x:g}", fill="black", anchor="mt")
        draw.rectangle([MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM], outline="black")
        for index, (name, (xs, ys)) in enumerate(series.items()):
            colour = COLOURS[index % len(COLOURS)]
            pixels = [to_pixel(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
            if len(pixels) > 1:
                draw.line(pixels, fill=colour, width=2)
            for px, py in pixels if len(pixels) == 1 else ():
                draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
            draw.text((WIDTH - MARGIN_RIGHT - 8, MARGIN_TOP + 8 + 14 * index), name, fill=colour, anchor="ra")
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG")


def plot_curves(log_csv: str | os.PathLike[str], path: str | os.PathLike[str], *, title: str) -> None:
    """Training and validation loss per epoch from a training `log.csv`."""
    with open(log_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    series = {name: (epochs, [float(r[name]) for r in rows]) for name in ("train_loss", "val_loss")}
    line_plot(series, path, title=f"loss: {title}", xlabel="epoch", ylabel="loss")


def bar_plot(categories: Sequence[str], series: Mapping[str, Sequence[float | None]], path: str | os.PathLike[str],
             *, title: str, ylabel: str) -> None:
    """Grouped bars: one group per category, one bar per series (None leaves a gap); PNG written atomically."""
    image, draw = _canvas(title, "", ylabel)
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    # Headroom above the tallest bar keeps the legend (top right) off the bars.
    y_ticks = _ticks(min(0.0, *values), 1.3 * max(values)) if values else [0.0, 1.0]
    y0, y1 = y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def to_y(value: float) -> float:
        return MARGIN_TOP + (y1 - value) / (y1 - y0) * plot_h

    for y in y_ticks:
        draw.line([(MARGIN_LEFT, to_y(y)), (WIDTH - MARGIN_RIGHT, to_y(y))], fill="#e0e0e0")
        draw.text((MARGIN_LEFT - 6, to_y(y)), f"{y:g}", fill="black", anchor="rm")
    slot = plot_w / max(len(categories), 1)
    bar = slot * 0.8 / max(len(series), 1)
    for c, category in enumerate(categories):
        left = MARGIN_LEFT + c * slot + slot * 0.1
        draw.text((left + slot * 0.4, HEIGHT - MARGIN_BOTTOM + 6), category, fill="black", anchor="mt")
        for s, values in enumerate(series.values()):
            value = values[c]
            if value is not None and math.isfinite(value):
                x = left + s * bar
                draw.rectangle([x, min(to_y(value), to_y(0.0)), x + bar - 1, max(to_y(value), to_y(0.0))],
                               fill=COLOURS[s % len(COLOURS)])
    draw.rectangle([MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM], outline="black")
    for s, name in enumerate(series):
        draw.text((WIDTH - MARGIN_RIGHT - 8, MARGIN_TOP + 8 + 14 * s), name, fill=COLOURS[s % len(COLOURS)],
                  anchor="ra")
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG")
