"""The server-drawn SVG charts (dealercrm.charts): bars in proportion, a tooltip and a text
alternative for every figure, labels escaped, nothing drawn from nothing."""

import re
from decimal import Decimal
from xml.etree import ElementTree

from django.utils.safestring import SafeString

from dealercrm.charts import Bar, bar_chart, column_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup):
    return ElementTree.fromstring(str(markup))


def widths(svg, kind="bar"):
    return [
        float(rect.get("width")) for rect in svg.iter(f"{SVG}rect") if rect.get("class") == kind
    ]


def dollars(value):
    return f"${value:,.2f}"


def test_bars_are_in_proportion_to_their_values_and_written_with_the_formatter():
    markup = bar_chart(
        [Bar("Price too high", Decimal("1200")), Bar("No-show", Decimal("300"))],
        title="Lost revenue by reason",
        chart_id="by-reason",
        value_text=dollars,
    )

    assert isinstance(markup, SafeString)
    svg = parse(markup)
    longest, shorter = widths(svg)
    assert longest == 350  # the whole bar area: 640 wide, less the labels and the values
    assert shorter == 87.5
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    assert texts == ["Price too high", "$1,200.00", "No-show", "$300.00"]


def test_the_chart_names_itself_and_describes_every_figure_for_screen_readers():
    svg = parse(
        bar_chart(
            [Bar("Price too high", 1200, previous=800), Bar("No-show", 300, previous=None)],
            title="Lost revenue by reason",
            chart_id="by-reason",
            value_text=dollars,
        )
    )

    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "by-reason-title by-reason-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert (title.get("id"), title.text) == ("by-reason-title", "Lost revenue by reason")
    assert desc.text == ("Price too high: $1,200.00 (previous period: $800.00); No-show: $300.00.")
    tooltips = [
        row.find(f"{SVG}title").text
        for row in svg.iter(f"{SVG}g")
        if row.get("class") == "chart-row"
    ]
    assert tooltips == ["Price too high: $1,200.00 (previous period: $800.00)", "No-show: $300.00"]


def test_a_previous_value_draws_a_thinner_bar_on_the_same_scale_and_a_legend():
    svg = parse(
        bar_chart(
            [Bar("Missing parts", 100, previous=400)],
            title="t",
            chart_id="c",
            previous_label="Before",
            current_label="After",
        )
    )

    assert widths(svg) == [12, 87.5]  # the legend's swatch, then the bar: a quarter of the largest
    assert widths(svg, "bar-previous") == [12, 350]
    legend = [text.text for text in svg.find(f"{SVG}g").iter(f"{SVG}text")]
    assert legend == ["After", "Before"]


def test_labels_are_escaped_and_long_ones_are_shortened_but_kept_whole_in_the_tooltip():
    label = '<script>alert("x")</script> and a reason with a very long name'
    markup = str(bar_chart([Bar(label, 5)], title="A & B", chart_id="x"))

    assert "<script>" not in markup
    svg = parse(markup)
    shown = [text.text for text in svg.iter(f"{SVG}text")][0]
    assert shown.endswith("…") and len(shown) == 26
    assert svg.find(f"{SVG}g").find(f"{SVG}title").text == f"{label}: 5"
    assert svg.find(f"{SVG}title").text == "A & B"


def test_all_zero_or_negative_values_draw_empty_bars_not_an_error():
    svg = parse(bar_chart([Bar("a", 0), Bar("b", Decimal("-5"))], title="t", chart_id="c"))

    assert widths(svg) == [0, 0]


def test_nothing_to_chart_says_so_in_words():
    assert str(bar_chart([], title="Lost revenue by advisor", chart_id="c")) == (
        '<p class="chart-empty">Lost revenue by advisor: nothing to show yet.</p>'
    )
    assert "nothing to show yet" in str(column_chart([], title="By month", chart_id="m"))


def test_columns_stand_in_order_with_their_short_labels_and_the_top_value_marked():
    svg = parse(
        column_chart(
            [
                Bar("January 2025", Decimal("100"), short="Jan"),
                Bar("February 2025", Decimal("400"), short="Feb"),
                Bar("March 2025", Decimal("0"), short="Mar"),
            ],
            title="Lost revenue by month",
            chart_id="by-month",
            value_text=dollars,
        )
    )

    bars = [rect for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "bar"]
    heights = [float(rect.get("height")) for rect in bars]
    assert heights == [38.5, 154, 0]  # the plot is 154 high
    assert [float(rect.get("x")) for rect in bars] == sorted(float(rect.get("x")) for rect in bars)
    labels = [text.text for text in svg.iter(f"{SVG}text")]
    assert labels == ["$400.00", "Jan", "Feb", "Mar"]
    tooltips = [g.find(f"{SVG}title").text for g in svg.iter(f"{SVG}g")]
    assert tooltips == ["January 2025: $100.00", "February 2025: $400.00", "March 2025: $0.00"]
    assert svg.get("class") == "chart chart-columns"


def test_the_markup_holds_no_script_and_no_external_reference():
    markup = str(bar_chart([Bar("a", 1, previous=2)], title="t", chart_id="c")) + str(
        column_chart([Bar("a", 1)], title="t", chart_id="d")
    )

    assert "<script" not in markup
    assert not re.search(r"(?:href|src)=", markup)
