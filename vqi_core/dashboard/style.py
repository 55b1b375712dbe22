"""Colours and plot layout shared by every page, the report and the overlays."""

from __future__ import annotations

from typing import Sequence

from .. import localisation


def css_color(rgb: Sequence[int]) -> str:
    """A plotly/CSS colour string for an RGB triple."""
    return f"rgb({int(rgb[0])},{int(rgb[1])},{int(rgb[2])})"


GOOD_CSS = css_color(localisation.GOOD_RGB)
DEFECT_CSS = css_color(localisation.DEFECT_RGB)  # charts and marks; text in the darker shades below
DEFECT_TEXT_CSS = css_color(localisation.DEFECT_TEXT_RGB)
GROUND_TRUTH_TEXT_CSS = css_color(localisation.GROUND_TRUTH_TEXT_RGB)
#: one colour per run on Compare's ROC chart, none of them near the blue of good, the orange of defective or the
#: magenta of the ground truth (found by review: plotly's own light blue, red and pink): green, purple, black, brown,
#: olive, grey, teal
RUN_COLORS = ("#009E73", "#6A3D9A", "#000000", "#8C564B", "#808000", "#7F7F7F", "#17BECF")
#: each compared run's curve its own dash and a width that shrinks down the list, so that curves that coincide
#: (runs that all separate the test set) still show every run: the later, thinner ones drawn over the first
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
RUN_LINE_WIDTHS = (5.0, 3.5, 2.0)
OPERATING_POINT_COLOR = "rgb(0,0,0)"
THUMBNAIL_BACKGROUND = (240, 242, 246)
PLOT_MARGIN = dict(l=10, r=10, t=40, b=10)
