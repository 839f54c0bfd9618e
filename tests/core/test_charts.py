"""core.charts: server-rendered SVG that parses, escapes text and never shows a hidden value."""

import xml.etree.ElementTree as ET

from core.charts import Bar, Series, bar_chart, line_chart, nice_max

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output)


def test_bar_chart_draws_bars_whiskers_and_notes():
    svg = bar_chart(
        [
            Bar("18-24", 0.5, 0.4, 0.6, reference=True),
            Bar("<55+ & co>", 0.25, 0.2, 0.3, highlight=True),
            Bar("75+", None, note="too few to measure"),
        ],
        title="Shown discount offers",
        description="Share of customers per age band",
        fmt=lambda v: f"{v:.0%}",
        rule=0.4,
        rule_label="80% of largest",
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Shown discount offers"
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 2  # the too-few group gets no bar
    assert "is-highlight" in rects[1].get("class")
    assert "is-reference" in rects[0].get("class")
    # the 25% bar is half as long as the 50% bar
    assert abs(float(rects[1].get("width")) * 2 - float(rects[0].get("width"))) < 0.5
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<55+ & co>" in texts  # escaped in the markup, intact once parsed
    assert "too few to measure" in texts
    assert "50%" in texts and "25%" in texts
    assert len(root.findall(f"{SVG}g[@class='chart-whisker']")) == 2
    assert "style=" not in svg  # CSP: no inline styles


def test_line_chart_breaks_the_line_at_missing_runs():
    svg = line_chart(
        ["1 Nov", "8 Nov", "15 Nov", "22 Nov"],
        [Series("Open findings", [3, 1, None, 2]), Series("Groups", [10, 12, 12, 14])],
        title="Trend",
        description="Open findings per run",
    )
    root = parse(svg)
    lines = root.findall(f"{SVG}polyline")
    # series 0: one stretch of two points (the single last point is a marker only); series 1: one
    assert len(lines) == 2
    points = root.findall(f"{SVG}circle")
    assert len(points) == 3 + 4


def test_empty_charts_still_render():
    assert parse(bar_chart([], title="t", description="d")).get("role") == "img"
    assert parse(line_chart([], [], title="t", description="d")).get("role") == "img"
    assert parse(line_chart(["a"], [Series("s", [None])], title="t", description="d"))


def test_nice_max_rounds_up():
    assert nice_max(0.31) == 0.5
    assert nice_max(0.8) == 1.0
    assert nice_max(1.0) == 1.0
    assert nice_max(17) == 20
    assert nice_max(0) == 1.0
