"""Interactive charts (Plotly, whose JavaScript the Python package ships: the pages work offline)."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go

from engine.abstats import DayResult
from engine.stats import Stats

COLOURS = ("#2E86AB", "#C73E1D", "#3B1F2B", "#F18F01", "#6A994E")


def _html(figure: go.Figure, name: str) -> str:
    figure.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=320, autosize=True,
                         template="plotly_white")
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=name,
                          config={"displaylogo": False, "responsive": True})


def videos_per_day(stats: Stats) -> str:
    """Videos made per day."""
    days = list(stats.videos_per_day)
    figure = go.Figure(go.Bar(x=[d.isoformat() for d in days], y=[stats.videos_per_day[d] for d in days],
                              marker_color=COLOURS[0], name="videos"))
    figure.update_xaxes(type="category")  # whole days, not a time axis with hours between them
    return _html(figure.update_layout(title="Videos per day"), "chart-days")


def videos_per_preset(stats: Stats) -> str:
    """Videos made per preset."""
    presets = list(stats.videos_per_preset)
    figure = go.Figure(go.Bar(x=presets, y=[stats.videos_per_preset[p] for p in presets], marker_color=COLOURS[3]))
    return _html(figure.update_layout(title="Videos per preset"), "chart-presets")


def stage_times(stats: Stats) -> str:
    """Mean and 90th percentile seconds per stage."""
    stages = list(stats.stage_time)
    figure = go.Figure([
        go.Bar(x=stages, y=[stats.stage_time[s].mean for s in stages], name="mean", marker_color=COLOURS[0]),
        go.Bar(x=stages, y=[stats.stage_time[s].p90 for s in stages], name="90th percentile", marker_color=COLOURS[1]),
    ])
    return _html(figure.update_layout(title="Seconds per stage", barmode="group"), "chart-stages")


def image_success(stats: Stats) -> str:
    """Share of pictures asked for that were made, per image backend."""
    backends = list(stats.images_per_backend)
    shares = [made / asked if asked else 0.0 for made, asked in (stats.images_per_backend[b] for b in backends)]
    figure = go.Figure(go.Bar(x=backends, y=shares, marker_color=COLOURS[4], text=[f"{s:.0%}" for s in shares]))
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    return _html(figure.update_layout(title="Pictures made, per backend"), "chart-images")


def ab_days(results: list[DayResult], names: dict[int, str]) -> str:
    """Click-through rate per judged day, a line per variant."""
    figure = go.Figure()
    for variant, name in names.items():
        days = [r for r in results if r.variant == variant]
        figure.add_trace(go.Scatter(
            x=[r.day.isoformat() for r in days], y=[r.clicks / r.impressions if r.impressions else 0 for r in days],
            mode="markers+lines", name=name, marker_color=COLOURS[(variant - 1) % len(COLOURS)],
            customdata=[r.impressions for r in days], hovertemplate="%{x}: %{y:.2%} of %{customdata} impressions"))
    figure.update_yaxes(tickformat=".1%")
    return _html(figure.update_layout(title="Click-through rate per day"), "chart-ab")


def day_label(day: date) -> str:
    """A day as the pages show it."""
    return day.strftime("%a %d %b")
