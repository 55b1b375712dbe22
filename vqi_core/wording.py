"""How messages count things: "1 image", "3 images", never "3 image(s)"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` in the number it asks for (``plural`` where adding an "s" is wrong)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def are(count: int) -> str:
    """The verb "to be" agreeing with ``count`` things."""
    return "is" if count == 1 else "are"
