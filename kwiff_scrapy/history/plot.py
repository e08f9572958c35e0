"""``scrapy kwiff history --plot``: an event's odds over time, as a PNG (matplotlib).

One panel per market, one step line per outcome (a price holds until the next one;
a gap where the outcome had no price), time on the x axis in UTC, a legend with
the outcome names, the title with the teams, competition and kick-off, and kick-off
marked with a dashed line when it falls within the plotted time. matplotlib's
object-oriented API with the Agg canvas: no screen, no pyplot state. matplotlib is
the ``plot`` extra.
"""

from __future__ import annotations

import importlib
from datetime import UTC
from math import nan
from typing import TYPE_CHECKING, Any, Final

from .. import defaults
from .errors import HistoryError

if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

    from .queries import PlotData

PLOT_EXTRA: Final = "plot"
#: Legend entries per panel beyond which the legend gets two columns.
LEGEND_ROWS: Final = 8


def require_matplotlib() -> None:
    """``HistoryError`` saying which extra to install if matplotlib is missing."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        raise HistoryError(
            f"--plot needs matplotlib: pip install 'kwiff-scrapy[{PLOT_EXTRA}]'"
        ) from None


def _only(odds: list[float], open_: list[bool], wanted: bool) -> list[float]:
    """*odds* where the outcome's openness is *wanted*, NaN elsewhere (a step drawn
    ``where="post"`` holds each value up to the next time, so the segments meet)."""
    return [value if is_open == wanted else nan for value, is_open in zip(odds, open_, strict=True)]


def render(
    data: PlotData,
    path: Path | str | BinaryIO,
    *,
    width: int = defaults.PLOT_WIDTH,
    height: int = defaults.PLOT_HEIGHT,
    dpi: int = defaults.PLOT_DPI,
) -> None:
    """Draw *data* into the PNG file *path* (or a binary stream), *width* x *height* pixels."""
    require_matplotlib()
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import PercentFormatter

    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(len(data.markets), 1, sharex=True, squeeze=False)[:, 0]
    figure.suptitle(data.title, fontsize="medium")
    locator = mdates.AutoDateLocator(tz=UTC, minticks=3, maxticks=8)
    suspended_shown = False
    for axes, market in zip(panels, data.markets, strict=True):
        for series in market.series:
            odds = [value if value is not None else nan for value in series.odds]
            # Solid while the price can be backed, dotted (same colour) while suspended.
            backable = _only(odds, series.open, True)
            (line,) = axes.step(
                series.times, backable, where="post", label=series.outcome, linewidth=1.4
            )
            if not all(series.open):
                suspended_shown = True
                axes.step(
                    series.times,
                    _only(odds, series.open, False),
                    where="post",
                    color=line.get_color(),
                    linestyle=":",
                    linewidth=1.4,
                )
        if data.kickoff_shown:
            axes.axvline(data.event.start, color="0.35", linestyle="--", linewidth=1)
        axes.set_title(market.market, fontsize="small", loc="left")
        if data.probability:
            axes.set_ylabel("implied probability", fontsize="small")
            axes.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            axes.set_ylabel("decimal odds", fontsize="small")
        axes.grid(True, alpha=0.3)
        axes.tick_params(labelsize="x-small")
        columns = 1 if len(market.series) <= LEGEND_ROWS else 2
        handles, labels = axes.get_legend_handles_labels()
        if suspended_shown:
            handles.append(Line2D([], [], color="0.4", linestyle=":", linewidth=1.4))
            labels.append("(dotted: suspended)")
        axes.legend(
            handles,
            labels,
            fontsize="x-small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            ncols=columns,
        )
        if data.kickoff_shown:
            axes.annotate(
                "kick-off",
                (mdates.date2num(data.event.start), 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -10),
                textcoords="offset points",
                fontsize="x-small",
                color="0.35",
            )
    bottom: Any = panels[-1]
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    bottom.set_xlabel("time (UTC)", fontsize="small")
    if data.start == data.end:
        bottom.set_xlim(
            mdates.date2num(data.start) - 1 / 1440, mdates.date2num(data.end) + 1 / 1440
        )
    figure.savefig(path, format="png", dpi=dpi)
