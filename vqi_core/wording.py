"""How messages count things: "1 image", "3 images", never "3 image(s)"; rates someone entered."""

from __future__ import annotations

import math


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` in the number it asks for (``plural`` where adding an "s" is wrong)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def are(count: int) -> str:
    """The verb "to be" agreeing with ``count`` things."""
    return "is" if count == 1 else "are"


def entered_rate(rate: float) -> str:
    """A rate someone entered (a line's defect rate, an allowed false-alarm rate) as a percentage with up to four
    significant digits: 0.005 % stays 0.005 %, where one decimal would print 0.0 %."""
    value = 100 * rate
    if value == 0:
        return "0%"
    decimals = max(0, 3 - math.floor(math.log10(abs(value))))  # four significant digits, never 1e-05
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") + "%"
