"""Charts drawn on the server as inline SVG: the geometry of grouped bars and trend lines.

Nothing is loaded from elsewhere and no script runs; the templates (``stats/_charts.html``)
turn these shapes into ``<rect>``, ``<polyline>`` and ``<text>`` elements. Every chart sits
beside a table of the same numbers, so the chart only has to be easy to look at.
"""

import dataclasses
import math

WIDTH = 640
HEIGHT = 300
LEFT = 64
RIGHT = 12
TOP = 12
BOTTOM = 40

#: colors of the series, in order (readable on white, told apart by most color-blind eyes)
PALETTE = ("#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#20c997", "#6c757d")


@dataclasses.dataclass
class Series:
    key: str
    label: str
    color: str


@dataclasses.dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclasses.dataclass
class Line:
    color: str
    label: str
    #: runs of "x,y" points; a missing value breaks the line
    segments: list
    #: (x, y, title) of each point, for markers and tooltips
    points: list


@dataclasses.dataclass
class Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    #: (y, label) of the horizontal grid lines
    ticks: list
    #: (x, label) under the horizontal axis
    labels: list
    series: list
    bars: list = dataclasses.field(default_factory=list)
    lines: list = dataclasses.field(default_factory=list)

    @property
    def empty(self):
        return not self.bars and not any(line.points for line in self.lines)


def series_of(items):
    """Series for ``(key, label)`` pairs, colored in palette order."""
    return [
        Series(key, label, PALETTE[index % len(PALETTE)])
        for index, (key, label) in enumerate(items)
    ]


def nice_ceiling(value):
    """A round number at or above ``value``: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _scale(maximum, whole, tick_count=4):
    """The top of the axis and its tick values; ``whole``: ticks at whole numbers only."""
    top = nice_ceiling(maximum) if maximum > 0 else 1
    if whole and top < tick_count:
        top = tick_count
    return top, [top * i / tick_count for i in range(tick_count + 1)]


def _frame(maximum, format_tick, whole):
    top, tick_values = _scale(maximum, whole)
    plot_bottom = HEIGHT - BOTTOM
    plot_height = plot_bottom - TOP
    ticks = [(plot_bottom - plot_height * value / top, format_tick(value)) for value in tick_values]
    return top, plot_bottom, plot_height, ticks


def _label_step(count, room=10):
    """Show every n-th category label so that they do not overlap."""
    return max(1, math.ceil(count / room))


def bar_chart(categories, series, values, format_tick=str, format_value=str, whole=False):
    """Grouped bars: one group per category (e.g. a year), one bar per series (e.g. a contract
    type). ``values[(category, series key)]`` is a number or None (not shown); ``whole``: the
    values are counts."""
    numbers = [v for v in values.values() if v is not None]
    top, plot_bottom, plot_height, ticks = _frame(max(numbers, default=0), format_tick, whole)
    plot_width = WIDTH - LEFT - RIGHT
    group_width = plot_width / max(len(categories), 1)
    bar_width = group_width * 0.8 / max(len(series), 1)
    bars, labels = [], []
    step = _label_step(len(categories))
    for index, (category, category_label) in enumerate(categories):
        group_left = LEFT + index * group_width + group_width * 0.1
        if index % step == 0:
            labels.append((LEFT + (index + 0.5) * group_width, category_label))
        for position, one in enumerate(series):
            value = values.get((category, one.key))
            if not value:
                continue
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(group_left + position * bar_width, 1),
                    y=round(plot_bottom - height, 1),
                    width=round(bar_width * 0.92, 1),
                    height=round(height, 1),
                    color=one.color,
                    title=f"{category_label} · {one.label}: {format_value(value)}",
                )
            )
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, plot_bottom, ticks, labels, series, bars)


def line_chart(categories, series, values, format_tick=str, format_value=str, whole=False):
    """Trend lines: one point per category (e.g. a month) for each series. A value of None
    (not shown) breaks the line there. Nothing is drawn while every value is zero."""
    numbers = [v for v in values.values() if v is not None]
    if not any(numbers):
        values = {}
    top, plot_bottom, plot_height, ticks = _frame(max(numbers, default=0), format_tick, whole)
    plot_width = WIDTH - LEFT - RIGHT
    spacing = plot_width / max(len(categories) - 1, 1)
    step = _label_step(len(categories), room=8)
    labels = [
        (LEFT + index * spacing, label)
        for index, (_, label) in enumerate(categories)
        if index % step == 0
    ]
    lines = []
    for one in series:
        segments, points, run = [], [], []
        for index, (category, category_label) in enumerate(categories):
            value = values.get((category, one.key))
            if value is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            x = round(LEFT + index * spacing, 1)
            y = round(plot_bottom - plot_height * value / top, 1)
            run.append(f"{x},{y}")
            points.append((x, y, f"{category_label} · {one.label}: {format_value(value)}"))
        if run:
            segments.append(" ".join(run))
        lines.append(Line(one.color, one.label, segments, points))
    return Chart(
        WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, plot_bottom, ticks, labels, series, lines=lines
    )
