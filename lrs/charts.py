"""Charts of the dashboard, drawn as SVG on the server.

SVG beats a chart library here: the page then needs no script to show numbers (the tables
and charts work with JavaScript off, on a slow link or an offline deployment), ships no
third-party file, and stays a few kilobytes. A suppressed value (`None`: a group under the
tenant's `k`) is never drawn as a number or a zero: a line has a gap there, a bar is an
outline labelled with the "suppressed" text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 34
COLOURS = ("#1f5f99", "#c2571a", "#2e7d32", "#7b3294", "#5f6b73", "#b8860b")


def _scale(top: float) -> float:
    """A round upper bound for the y axis."""
    if top <= 0:
        return 1.0
    step = 10 ** (len(str(int(top))) - 1)
    return float(((int(top) // step) + 1) * step)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    number: Callable[[float], str],
    title: str,
    top: float | None = None,
) -> Markup:
    """One line per series over the labels (time buckets); `None` leaves a gap. `top` fixes
    the y axis (1.0 for rates), else it fits the values."""
    values = [v for _, points in series for v in points if v is not None]
    top = top or _scale(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / count)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [_frame(title, top, number)]
    for index, (name, points) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        run: list[str] = []
        for i, value in enumerate(points):
            if value is None:
                parts.append(_polyline(run, colour))
                run = []
                continue
            run.append(f"{x(i):.1f},{y(value):.1f}")
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(name)} {escape(labels[i])}: {escape(number(value))}</title>"
                "</circle>"
            )
        parts.append(_polyline(run, colour))
    step = max(1, count // 8)
    for i in range(0, len(labels), step):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
            f"{escape(labels[i])}</text>"
        )
    return _svg(parts, title)


def bar_chart(
    groups: Sequence[tuple[str, Sequence[float | None]]],
    *,
    number: Callable[[float], str],
    suppressed: str,
    title: str,
    maximum: float | None = None,
) -> Markup:
    """Horizontal bars: per label, one bar per series (the legend's order and colours); a
    suppressed value is a dashed outline saying so, never a bar of zero."""
    bar = 18
    width = max((len(values) for _, values in groups), default=1)
    block = bar * width + 8
    height = TOP + block * max(len(groups), 1)
    label_w = 170
    plot_w = WIDTH - label_w - RIGHT - 60
    found = [v for _, values in groups for v in values if v is not None]
    top = maximum or _scale(max(found, default=0))
    parts = []
    for i, (label, values) in enumerate(groups):
        y0 = TOP + i * block
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + bar - 4}" text-anchor="end">{escape(label)}</text>'
        )
        for j, value in enumerate(values):
            y = y0 + j * bar
            if value is None:
                parts.append(
                    f'<rect x="{label_w}" y="{y + 2}" width="{plot_w}" height="{bar - 4}" '
                    'fill="none" stroke="#8a4b00" stroke-dasharray="4 3"/>'
                    f'<text x="{label_w + 6}" y="{y + bar - 5}" fill="#8a4b00">'
                    f"{escape(suppressed)}</text>"
                )
                continue
            length = plot_w * (max(value, 0) / top if top else 0)
            colour = COLOURS[j % len(COLOURS)]
            parts.append(
                f'<rect x="{label_w}" y="{y + 2}" width="{length:.1f}" height="{bar - 4}" '
                f'fill="{colour}"><title>{escape(label)}: {escape(number(value))}</title></rect>'
                f'<text x="{label_w + length + 6:.1f}" y="{y + bar - 5}">'
                f"{escape(number(value))}</text>"
            )
    return _svg(parts, title, height=height)


def _frame(title: str, top: float, number: Callable[[float], str]) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    lines = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d6d6d6"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(number(top * fraction))}</text>"
        )
    return "".join(lines)


def _polyline(points: list[str], colour: str) -> str:
    if len(points) < 2:
        return ""
    return (
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
        f'points="{" ".join(points)}"/>'
    )


def _svg(parts: list[str], title: str, *, height: int = HEIGHT) -> Markup:
    return Markup(  # noqa: S704  (every text put in above went through escape)
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
