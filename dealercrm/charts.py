"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing to load.

Two kinds, enough for the reports: horizontal bars (one per label, with an optional thinner bar
for the previous period) and columns (one per month). Each returns markup safe to put in a
template. A chart is a picture of figures the page also shows in a table, so it carries a
<title> and a <desc> for screen readers (role="img"), and every bar a <title> that browsers show
as a tooltip. Colours come from CSS classes (static/dealercrm/app.css) with fill attributes
as the fallback.

    bar_chart([Bar("Price too high", Decimal("1200"), previous=Decimal("800"))],
              title="Lost revenue by reason", chart_id="lost-by-reason", value_text=money_text)
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH = 640
LABEL_WIDTH = 180
VALUE_WIDTH = 110
LABEL_CHARS = 26
CURRENT_FILL = "#1f5fbf"
PREVIOUS_FILL = "#b8c4d6"


@dataclass(frozen=True)
class Bar:
    """One figure: `label` names it (in full in the tooltip and the description), `short` is
    what the axis shows when the label is long ("Jan" for "January 2026"), `previous` the
    same figure in the period before."""

    label: str
    value: Decimal | int | float
    previous: Decimal | int | float | None = None
    short: str = ""


def _number(value):
    return float(value or 0)


def _coordinate(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _clip(text, chars=LABEL_CHARS):
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _scale(bars):
    largest = max(
        [_number(bar.value) for bar in bars]
        + [_number(bar.previous) for bar in bars if bar.previous is not None],
        default=0,
    )
    return largest if largest > 0 else 1


def _tooltip(bar, value_text, previous_label):
    text = f"{bar.label}: {value_text(bar.value)}"
    if bar.previous is not None:
        text += f" ({previous_label.lower()}: {value_text(bar.previous)})"
    return text


def _svg(chart_id, kind, width, height, title, description, body):
    # Safe: every text inside went through escape(); the rest is numbers and fixed markup.
    return mark_safe(
        f'<svg class="chart chart-{kind}" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {_coordinate(height)}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
        f"{body}</svg>"
    )


def _empty(title):
    return mark_safe(f'<p class="chart-empty">{escape(title)}: nothing to show yet.</p>')


def bar_chart(
    bars,
    *,
    title,
    chart_id,
    value_text=str,
    previous_label="Previous period",
    current_label="This period",
):
    """Horizontal bars, one row per Bar, longest first as given; with a thinner bar under each
    for its previous value when any Bar has one. `value_text` writes a value ("$1,200.00")."""
    bars = list(bars)
    if not bars:
        return _empty(title)
    compare = any(bar.previous is not None for bar in bars)
    row = 34 if compare else 24
    top = 22 if compare else 4
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    largest = _scale(bars)
    parts = []
    if compare:
        parts.append(
            f'<g class="chart-legend" font-size="12">'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="4" width="12" height="12" '
            f'fill="{CURRENT_FILL}"></rect>'
            f'<text x="{LABEL_WIDTH + 18}" y="14">{escape(current_label)}</text>'
            f'<rect class="bar-previous" x="{LABEL_WIDTH + 130}" y="6" width="12" height="8" '
            f'fill="{PREVIOUS_FILL}"></rect>'
            f'<text x="{LABEL_WIDTH + 148}" y="14">{escape(previous_label)}</text></g>'
        )
    for number, bar in enumerate(bars):
        y = top + number * row
        width = area * max(_number(bar.value), 0) / largest
        label = bar.short or bar.label
        shown = value_text(bar.value)
        parts.append(
            f'<g class="chart-row"><title>{escape(_tooltip(bar, value_text, previous_label))}'
            f"</title>"
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{_coordinate(y + 13)}" '
            f'text-anchor="end" font-size="12">{escape(_clip(label))}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{_coordinate(y + 2)}" '
            f'width="{_coordinate(width)}" height="14" fill="{CURRENT_FILL}"></rect>'
            f'<text class="chart-value" x="{_coordinate(LABEL_WIDTH + width + 6)}" '
            f'y="{_coordinate(y + 13)}" font-size="12">{escape(shown)}</text>'
        )
        if bar.previous is not None:
            previous_width = area * max(_number(bar.previous), 0) / largest
            parts.append(
                f'<rect class="bar-previous" x="{LABEL_WIDTH}" y="{_coordinate(y + 19)}" '
                f'width="{_coordinate(previous_width)}" height="8" fill="{PREVIOUS_FILL}">'
                f"</rect>"
            )
        parts.append("</g>")
    description = "; ".join(_tooltip(bar, value_text, previous_label) for bar in bars) + "."
    return _svg(
        chart_id, "bars", WIDTH, top + len(bars) * row + 4, title, description, "".join(parts)
    )


def column_chart(columns, *, title, chart_id, value_text=str):
    """Vertical columns left to right in the order given (months), each labelled below by its
    `short` label (or its label), with the largest value marked on a line at the top."""
    columns = list(columns)
    if not columns:
        return _empty(title)
    height, top, bottom, left = 200, 22, 24, 8
    plot = height - top - bottom
    slot = (WIDTH - 2 * left) / len(columns)
    gap = min(8, slot * 0.2)
    largest = _scale(columns)
    top_value = max((_number(column.value) for column in columns), default=0)
    parts = [
        f'<line class="chart-grid" x1="{left}" x2="{WIDTH - left}" y1="{top}" y2="{top}" '
        f'stroke="#dfe3ea"></line>'
        f'<text class="chart-value" x="{left}" y="{top - 6}" font-size="12">'
        f"{escape(value_text(top_value))}</text>"
        f'<line class="chart-axis" x1="{left}" x2="{WIDTH - left}" y1="{top + plot}" '
        f'y2="{top + plot}" stroke="#5b6475"></line>'
    ]
    for number, column in enumerate(columns):
        x = left + number * slot + gap / 2
        size = plot * max(_number(column.value), 0) / largest
        parts.append(
            f'<g class="chart-column"><title>{escape(_tooltip(column, value_text, ""))}</title>'
            f'<rect class="bar" x="{_coordinate(x)}" y="{_coordinate(top + plot - size)}" '
            f'width="{_coordinate(slot - gap)}" height="{_coordinate(size)}" '
            f'fill="{CURRENT_FILL}"></rect>'
            f'<text class="chart-label" x="{_coordinate(x + (slot - gap) / 2)}" '
            f'y="{height - 8}" text-anchor="middle" font-size="11">'
            f"{escape(_clip(column.short or column.label, 8))}</text></g>"
        )
    description = "; ".join(_tooltip(column, value_text, "") for column in columns) + "."
    return _svg(chart_id, "columns", WIDTH, height, title, description, "".join(parts))
