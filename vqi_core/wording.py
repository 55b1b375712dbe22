"""How messages count things: "1 image", "3 images", never "3 image(s)"; rates someone entered."""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Iterable

#: a note longer than this many words is shown as its :func:`headline`, the whole note a click away
HEADLINE_WORDS = 40


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` in the number it asks for (``plural`` where adding an "s" is wrong)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def figure(value: float | None, digits: int = 4) -> str:
    """A figure with ``digits`` decimals, "n/a" where it does not exist (pixel metrics without masks)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def fraction(value: float | None, digits: int = 4) -> str:
    """An AUROC, AUPRO or F1 (or a difference of two) as :func:`figure` gives it, with the decimals that keep it
    from reading 0 or 1 where it is not (:func:`decimals_apart`); float noise around 0 is 0, not "-0.000"."""
    if value is None:
        return "n/a"
    value, decimals = fraction_decimals(value, digits)
    return f"{value:.{decimals}f}"


def fraction_decimals(value: float, digits: int) -> tuple[float, int]:
    """A fraction (or a difference of two) with float noise around 0 made 0 (not "-0.000"), and the decimals, at
    least ``digits``, that keep it from reading 0 or 1 where it is not (:func:`decimals_apart`)."""
    value = 0.0 if abs(float(value)) < FLOAT_NOISE else float(value)
    return value, decimals_apart([value], digits)


#: closer than this to 0 or 1, a figure is 0 or 1: float noise (a perfect AUPRO computed as 0.9999999999999998)
FLOAT_NOISE = 1e-9


def decimals_apart(values: Iterable[float | None], digits: int = 3) -> int:
    """The fewest decimals, at least ``digits`` (at most 12), with which no value but 0 reads as 0, and none
    strictly between 0 and 1 as 1: an image AUROC of 0.99961 (one pair of 2,576 ranked the wrong way) read 1.000 on
    the pages, as a perfect run does, and an AUROC difference of 0.0002 read +0.000 (numbers reviews). Values within
    :data:`FLOAT_NOISE` of 0 or 1 count as 0 or 1."""
    given = [float(value) for value in values if value is not None and math.isfinite(float(value))]

    def misread(value: float) -> bool:
        shown = float(f"{value:.{digits}f}")
        return ((abs(value) > FLOAT_NOISE and shown == 0)
                or (0 < value < 1 - FLOAT_NOISE and shown == 1))

    while digits < 12 and any(misread(value) for value in given):
        digits += 1
    return digits


def percent(value: float | None, digits: int = 1) -> str:
    """A rate as a percentage with ``digits`` decimals, "n/a" where it is undefined; a rate that is not 0 (not 1)
    gets the decimals that keep it from reading 0.0 % (100.0 %): 477 of 1,397,167 good pixels had read 0.0 %
    (numbers review)."""
    if value is None:
        return "n/a"
    text = f"{value:.{digits}%}"
    while digits < 12 and ((0 < value and float(text[:-1]) == 0) or (value < 1 and float(text[:-1]) == 100)):
        digits += 1
        text = f"{value:.{digits}%}"
    return f"{value * 100:.1e}%" if 0 < value and float(text[:-1]) == 0 else text  # 1e-25: 1.0e-23%


def interval_bounds(low: float, high: float, digits: int, signed: bool = False) -> tuple[str, str]:
    """The ends of an interval with ``digits`` decimals, rounded outwards (the lower end down, the upper up), so that
    a printed interval is never narrower than the one measured: an AUROC interval from 0.4999 had read 0.500, hiding
    that it begins below chance (numbers review). ``signed``: a + before positive ends."""
    step = Decimal(1).scaleb(-digits)
    # rounded to 10 decimals first: float noise (0.7999999999999999) is no value below 0.8 (code review)
    lower = Decimal(repr(round(float(low), 10))).quantize(step, ROUND_FLOOR) + 0  # + 0: no "-0.000"
    upper = Decimal(repr(round(float(high), 10))).quantize(step, ROUND_CEILING) + 0
    form = f"{'+' if signed else ''}.{digits}f"
    return f"{lower:{form}}", f"{upper:{form}}"


def are(count: int) -> str:
    """The verb "to be" agreeing with ``count`` things."""
    return "is" if count == 1 else "are"


def exact_number(value: float) -> str:
    """``value`` as a threshold is printed: with 6 significant digits where they give it back exactly, else with
    as many as do (the shortest text that reads back as the same number), so a threshold typed back as printed
    judges every image as it did (677.671 would pass a part scored 677.6707 that 677.670654296875 rejects)."""
    short = f"{value:.6g}"
    return short if float(short) == value else repr(float(value))


def told_apart(first: float, second: float, digits: int = 6) -> tuple[str, str]:
    """``first`` and ``second`` with ``digits`` significant digits, or with as many more as tell them apart where
    they differ but would print alike."""
    while first != second and digits < 17 and f"{first:.{digits}g}" == f"{second:.{digits}g}":
        digits += 1
    return f"{first:.{digits}g}", f"{second:.{digits}g}"


def score_beside(score: float, threshold: float) -> str:
    """``score`` as printed beside its verdict, with 6 significant digits as thresholds are printed; where the
    threshold would print alike although it differs, with the digits that tell them apart and on which side of
    the threshold it lies (so a "good" beside an equal-looking threshold is not read as defective at or above it);
    one equal to the threshold with all its digits, as the threshold is printed, and said to be equal (324.435 had
    read as below a threshold of 324.43536376953125 beside its "defective": numbers review)."""
    if score == threshold:
        return f"{exact_number(score)} (equal to the threshold: defective)"
    if f"{score:.6g}" != f"{threshold:.6g}":
        return f"{score:.6g}"
    score_text, threshold_text = told_apart(score, threshold)
    return f"{score_text} ({'below' if score < threshold else 'above'} the threshold {threshold_text})"


#: the smallest number an entered amount or rate is written out in full at; smaller, in exponent form
SMALLEST_WRITTEN_OUT = 1e-9


def entered_amount(value: float) -> str:
    """An amount someone entered (a cost) as they typed it: every digit, thousands grouped, never in exponent
    form (1,234,567 stays 1,234,567, where ``:g`` printed 1.23457e+06), except below :data:`SMALLEST_WRITTEN_OUT`,
    where written out it would be a row of zeros (1e-320 printed 320 of them: bad-input review)."""
    if 0 < abs(value) < SMALLEST_WRITTEN_OUT:
        return repr(float(value))  # every digit typed: 1.23456789e-12
    text = format(Decimal(repr(float(value))), ",f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def entered_rate(rate: float) -> str:
    """A rate someone entered (a line's defect rate, an allowed false-alarm rate) as a percentage with up to four
    significant digits: 0.005 % stays 0.005 %, where one decimal would print 0.0 %."""
    value = 100 * rate
    if value == 0:
        return "0%"
    if abs(value) < SMALLEST_WRITTEN_OUT:  # "≤ 1e-298% false alarms", not 300 zeros (bad-input review)
        return f"{value:.4g}%"
    decimals = max(0, 3 - math.floor(math.log10(abs(value))))  # four significant digits, never 1e-05
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") + "%"


def saved_time(saved_at: object) -> str:
    """A saved threshold's or box level's time (ISO 8601, as runs record it) as run labels give times, time first,
    with its UTC offset: "12:05:29 2026-12-05 UTC+01:00"; a date alone (a hand-edited file) as the date, not as
    its midnight; a text that is no such time as written."""
    if not isinstance(saved_at, str):  # a hand-edited file's number or list; nothing for null
        return "" if saved_at is None else str(saved_at)
    try:
        when = datetime.fromisoformat(saved_at)
    except ValueError:
        return saved_at
    if "T" not in saved_at.upper() and " " not in saved_at:  # a date alone, as "2026-12-05" or "2026-W49-5"
        return f"{when:%Y-%m-%d}"
    offset = _utc_offset(when)
    return f"{when:%H:%M:%S %Y-%m-%d}" + (f" UTC{offset}" if offset else "")


def readable_time(stamp: Any) -> Any:
    """A time as runs record it (``2026-12-05T01:11:53+01:00``) as a table shows it, whose column sorts by it: date
    first, "2026-12-05 01:11:53 +01:00" (a space for the "T"; the offset kept, as runs may come from
    machines in other time zones; :func:`saved_time` gives times time first); anything else (a config edited by
    hand) as it is."""
    try:
        when = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return stamp
    offset = _utc_offset(when)
    return f"{when:%Y-%m-%d %H:%M:%S}" + (f" {offset}" if offset else "")


def _utc_offset(when: datetime) -> str:
    """``when``'s offset from UTC as "+01:00" ("+05:30:15" with seconds); "" for a time without a zone."""
    offset = when.strftime("%z")  # "+0100", or "+053015" with seconds
    return f"{offset[:3]}:{offset[3:5]}" + (f":{offset[5:7]}" if offset[5:7] else "") if offset else ""


def by_whom(name: str) -> str:
    """" by <name>" after what someone saved, "" where no name was given."""
    return f" by {name.strip()}" if name.strip() else ""


def as_sentence(note: str) -> str:
    """A note the command line prints after "note: " as a page shows it: a capital first letter and a full stop
    (Predict's check showed them as fragments: QE review)."""
    return note[:1].upper() + note[1:] + ("" if note.endswith((".", "!", "?")) else ".")


def headline(note: str) -> str | None:
    """A long note's first clause without its parentheses ("185 of 190 good test images look almost like a
    training image, against 64 of 392 defective ones: if they are other photos of the same parts, the figures here
    are better than on new parts."), for a banner with the whole note under it; None for a note of at most
    :data:`HEADLINE_WORDS` words, shown whole."""
    if len(note.split()) <= HEADLINE_WORDS:
        return None
    depth, kept = 0, []
    for character in note:
        depth += (character == "(") - (character == ")" and depth > 0)
        if depth == 0 and character != ")":
            kept.append(character)
    plain = re.sub(r"\s+([,;:]|\.(?![.\w]))", r"\1", re.sub(r"\s+", " ", "".join(kept))).strip()  # not before "..."
    # nor before a file suffix (".png": browser review, "named.png")
    # the first clause (what follows a colon names the thing), not cut after "e.g." or "i.e."
    first = re.split(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[;.])\s", plain, maxsplit=1)[0].rstrip(";:, ")
    if re.search(r"\.{3,}$", first):  # a list that goes on ("a.png, ...."): it still does
        return re.sub(r"\.{3,}$", "...", first)
    return first.rstrip(".") + "."
