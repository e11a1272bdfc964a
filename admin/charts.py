"""Geometry for the small SVG charts the templates draw (no JavaScript, readable without CSS)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bar:
    x: float
    width: float
    segments: list[tuple[str, float, float, int]]  # (kind, y, height, count), bottom first
    label: str
    total: int
    rate_y: float | None  # where the on-time rate point sits, None without resolved dossiers


def weekly_bars(weeks, width: int = 720, height: int = 220, top: int = 10, bottom: int = 24) -> dict:
    """Stacked bars per week (late at the bottom, then on time, then early) and the on-time rate
    as a line on the same height (0-100 %)."""
    plot = height - top - bottom
    peak = max((w.outcomes.resolved for w in weeks), default=0) or 1
    step = width / max(len(weeks), 1)
    bars = []
    for i, week in enumerate(weeks):
        o = week.outcomes
        y = top + plot
        segments = []
        for kind in ("late", "on_time", "early"):
            count = getattr(o, kind)
            h = plot * count / peak
            y -= h
            if count:
                segments.append((kind, round(y, 1), round(h, 1), count))
        rate = o.on_time_rate
        bars.append(Bar(x=round(i * step + step * 0.15, 1), width=round(step * 0.7, 1), segments=segments,
                        label=week.start.strftime("%d/%m"), total=o.resolved,
                        rate_y=None if rate is None else round(top + plot * (1 - rate), 1)))
    line = " ".join(f"{b.x + b.width / 2},{b.rate_y}" for b in bars if b.rate_y is not None)
    return {"bars": bars, "width": width, "height": height, "peak": peak, "base": top + plot, "top": top,
            "line": line, "label_every": max(1, len(bars) // 10)}
