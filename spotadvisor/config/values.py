"""Scalar values of the files a user writes: durations, fractions, numbers, names.

Every parser takes the raw YAML value and a :class:`Where` (file and key path), and
raises :class:`~spotadvisor.errors.UsageError` naming both, with a one-line fix. YAML
quirks are called out in the fix: ``yes``/``no``/``on``/``off`` are booleans and quoted
numbers are text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TypeGuard, TypeVar

from spotadvisor.errors import UsageError, did_you_mean

S = TypeVar("S", bound=str)

#: Seconds in one of each duration unit.
UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: Hours in one of each duration unit.
UNIT_HOURS: dict[str, float] = {unit: seconds / 3600 for unit, seconds in UNIT_SECONDS.items()}
_UNIT_ALIASES: dict[str, str] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "w"),
}
_TERM = r"(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]+)"
_DURATION = re.compile(rf"^(?:{_TERM}\s*)+$")
_TERMS = re.compile(_TERM)
_BOOL_NOTE = "YAML reads yes/no/on/off/true/false as booleans"
#: The longest duration accepted anywhere [h]: 100 years (36500d). Every duration a
#: user writes (a cold start, a horizon, a notice, --since) is far shorter, and a date
#: that far ahead or back would leave the calendar (year 1 to 9999).
MAX_DURATION_HOURS = 36_500 * 24.0
_MAX_DURATION_TEXT = "36500d (100 years)"
_SHOWN = 40  # characters of a long value shown in an error


@dataclass(frozen=True)
class Where:
    """Where a value sits: the file and its key path, e.g. ``fleet[1].interruption.band``.

    Attributes
    ----------
    origin
        The file name (or another label for in-memory documents).
    path
        The key path from the top of the document; empty for the document itself.
    """

    origin: str
    path: str = ""

    def key(self, name: str) -> Where:
        """The path of key ``name`` inside this mapping."""
        return Where(self.origin, f"{self.path}.{name}" if self.path else name)

    def item(self, index: int) -> Where:
        """The path of item ``index`` (0-based) inside this list."""
        return Where(self.origin, f"{self.path}[{index}]")

    def error(self, message: str, fix: str) -> UsageError:
        """A :class:`UsageError` at this place."""
        return UsageError(message, file=self.origin, field=self.path, fix=fix)


def number_text(value: int | float) -> str:
    """A number for an error message, ``1,000,000`` or ``2.5``, whatever its size.

    Integers are written in full up to 20 digits (a 64-bit seed), larger ones as
    ``1.0e+30``; Python refuses to print an int of more than 4,300 digits (a YAML file
    can hold one), so a number beyond floats is described by its length.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{value:g}"
    if abs(value) < 10**20:
        return f"{value:,}"
    try:
        return f"{float(value):.1e}"
    except OverflowError:
        digits = int(abs(value).bit_length() * math.log10(2)) + 1
        return f"a number of about {digits:,} digits"


def _huge(text: str) -> bool:
    """Whether ``number_text`` described a number by its length."""
    return text.startswith("a number")


def shown(text: str) -> str:
    """``repr`` of a text for an error message, cut to a readable length."""
    if len(text) <= _SHOWN:
        return repr(text)
    return repr(text[:_SHOWN]) + f"... ({len(text):,} characters)"


def _said(value: object) -> str:
    """A value as the user wrote it: text quoted, anything else described."""
    return shown(value) if isinstance(value, str) else describe(value)


def describe(value: object) -> str:
    """How a YAML value reads in an error message: ``a list``, ``the text '4'``, ``true``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return number_text(value) if abs(value) >= 1000 else repr(value)
    text = repr(value)
    return shown(text)[1:-1] if len(text) > _SHOWN else text


def is_number(value: object) -> TypeGuard[int | float]:
    """True for YAML ints and floats (booleans are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _not_a_number(value: object, where: Where, example: str) -> UsageError:
    if isinstance(value, bool):
        return where.error(
            f"expected a number, got {describe(value)}",
            f"write a number such as {example}; {_BOOL_NOTE}",
        )
    if isinstance(value, str) and _looks_numeric(value.strip()):
        text = value.strip()
        fix = f"write {text} without quotes"
        if "e" in text.lower() and math.isfinite(float(text)):  # YAML 1.1 reads 1e3 as text
            fix = f"YAML reads {text} as text: write {float(text):g} or {float(text):.1e}"
        return where.error(f"expected a number, got {describe(value)}", fix)
    return where.error(
        f"expected a number, got {describe(value)}", f"write a number such as {example}"
    )


def _finite(value: int | float, where: Where) -> float:
    try:
        number = float(value)
    except OverflowError:
        text = number_text(value)
        raise where.error(
            f"{text if _huge(text) else f'the number {text}'} is too large",
            "write a smaller number",
        ) from None
    if not math.isfinite(number):
        raise where.error(f"expected a finite number, got {number}", "write a finite number")
    return number


def as_number(
    value: object,
    where: Where,
    *,
    minimum: float = 0.0,
    above: bool = False,
    maximum: float | None = None,
    why: str = "",
) -> float:
    """A finite number >= ``minimum`` (> ``minimum`` when ``above``), as a float.

    ``maximum`` caps it (``why`` says why, in the error).
    """
    if not is_number(value):
        raise _not_a_number(value, where, "2.5")
    number = _finite(value, where)
    if number < minimum or (above and number == minimum):
        relation = ">" if above else ">="
        raise where.error(
            f"must be {relation} {minimum:g}, got {number:g}",
            f"write a number {relation} {minimum:g}",
        )
    if maximum is not None and number > maximum:
        raise _too_large(number_text(number), number_text(maximum), where, why)
    return number


def _too_large(value: str, maximum: str, where: Where, why: str, noun: str = "") -> UsageError:
    reason = f" ({why})" if why else ""
    value = f"{value} {noun}" if noun and not _huge(value) else value
    return where.error(
        f"{value} is more than spotadvisor accepts here{reason}", f"write at most {maximum}"
    )


def as_whole(
    value: object,
    where: Where,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    why: str = "",
    noun: str = "",
) -> int:
    """A whole number >= ``minimum``; ``4.0`` is accepted as 4, ``4.5`` is not.

    ``maximum`` caps it (``why`` says why, and ``noun`` what it counts, in the error).
    """
    if not is_number(value):
        raise _not_a_number(value, where, str(max(minimum, 1)))
    if isinstance(value, float):
        if not value.is_integer():
            raise where.error(
                f"expected a whole number, got {describe(value)}", "round it to a whole number"
            )
        value = int(value)
    if value < minimum:
        raise where.error(
            f"must be at least {minimum}, got {number_text(value)}",
            f"write a whole number >= {minimum}",
        )
    if maximum is not None and value > maximum:
        raise _too_large(number_text(value), number_text(maximum), where, why, noun)
    return value


def as_text(value: object, where: Where) -> str:
    """Non-empty text; YAML numbers such as Azure zone ``1`` are accepted as text."""
    if is_number(value):
        try:
            return str(value)
        except ValueError:  # more digits than Python prints
            raise where.error(
                f"expected a name, got {number_text(value)}", "write a plain name"
            ) from None
    if not isinstance(value, str):
        raise where.error(
            f"expected text, got {describe(value)}",
            "write a plain name, quoted if it looks like a number or boolean",
        )
    if not value.strip():
        raise where.error("is empty", "write a name, or remove the key")
    return value.strip()


def as_choice(value: object, where: Where, choices: tuple[S, ...]) -> S:
    """One of ``choices`` (case-insensitive), with "did you mean" for a misspelling."""
    if not isinstance(value, str):
        raise where.error(
            f"expected one of {', '.join(choices)}, got {describe(value)}",
            f"write one of {', '.join(choices)}",
        )
    text = value.strip().lower()
    for choice in choices:
        if choice == text:
            return choice
    hint = did_you_mean(text[:100], choices)
    listing = f"the choices are {', '.join(choices)}"
    raise where.error(f"unknown value {shown(value)}", f"{hint} ({listing})" if hint else listing)


def _duration_seconds(value: object, where: Where) -> Fraction:
    """The exact length of a duration such as ``1h30m`` [s], so that ``20m`` is 20/60 h."""
    if isinstance(value, bool):
        raise where.error(
            f"expected a duration, got {describe(value)}",
            "write a duration such as 10m (units s, m, h, d, w)",
        )
    if is_number(value) and not (isinstance(value, float) and not math.isfinite(value)):
        number = number_text(value).replace(",", "")
        number = "10" if _huge(number) or "e" in number else number
        what = describe(value)
        raise where.error(
            f"{what if _huge(what) else f'the number {what}'} has no unit",
            f"write {number}m, {number}h or another unit (s, m, h, d, w)",
        )
    if not isinstance(value, str):
        raise where.error(
            f"expected a duration, got {describe(value)}",
            "write a duration such as 10m (units s, m, h, d, w)",
        )
    text = value.strip()
    if text.startswith("-"):
        raise where.error(
            f"durations cannot be negative, got {shown(value)}",
            "write a duration >= 0 such as 10m",
        )
    if _looks_numeric(text):
        short = text if len(text) <= _SHOWN else "10"
        raise where.error(
            f"the number {shown(value)} has no unit",
            f"write {short}m, {short}h or another unit (s, m, h, d, w)",
        )
    if not _DURATION.match(text):
        raise where.error(
            f"{shown(value)} is not a duration",
            "write a number and a unit such as 90s, 5m, 4h, 30d or 1h30m",
        )
    terms = _TERMS.findall(text)
    seconds = sum(
        (Fraction(n) * UNIT_SECONDS[_unit(u, value, where)] for n, u in terms), Fraction(0)
    )
    if seconds > Fraction(MAX_DURATION_HOURS) * 3600:
        raise where.error(
            f"duration {shown(value)} is too long: the longest accepted is {_MAX_DURATION_TEXT}",
            "write a shorter duration",
        )
    return seconds


def _unit(unit: str, value: str, where: Where) -> str:
    if unit in _UNIT_ALIASES:
        return _UNIT_ALIASES[unit]
    if unit.lower() in {"mo", "mon", "month", "months"}:
        fix = "months differ in length: write 30d or 730h"
    elif unit == "M":
        fix = "minutes are a lower-case m, e.g. 5m; for a month write 30d or 730h"
    else:
        fix = (
            did_you_mean(unit, _UNIT_ALIASES)
            or "use the units s, m, h, d or w, e.g. 90s, 5m, 4h, 30d"
        )
    raise where.error(f"unknown unit {shown(unit)} in duration {shown(value)}", fix)


def _to_float(exact: Fraction, value: object, where: Where) -> float:
    try:
        return float(exact)
    except OverflowError:
        raise where.error(
            f"duration {_said(value)} is too long", "write a shorter duration"
        ) from None


def as_hours(value: object, where: Where, *, positive: bool = False) -> float:
    """A duration [h], >= 0; > 0 when ``positive``. Correctly rounded: ``20m`` is ``20 / 60``."""
    hours = _to_float(_duration_seconds(value, where) / 3600, value, where)
    if positive and hours == 0:
        raise where.error(
            f"{_said(value)} must be longer than zero", "write a duration > 0 such as 6h or 30d"
        )
    return hours


def as_seconds(value: object, where: Where) -> float:
    """A duration [s], >= 0."""
    return _to_float(_duration_seconds(value, where), value, where)


def parse_duration(value: object, *, origin: str, field: str) -> float:
    """Parse a duration such as ``90s``, ``5m``, ``4h``, ``1.5h``, ``30d``, ``2w`` or ``1h30m``.

    Parameters
    ----------
    value
        The YAML value: text with a unit (s, m, h, d, w; also ``min``, ``hours``, ...).
        Bare numbers are refused because their unit would be a guess.
    origin, field
        The file and the key path, for the error.

    Returns
    -------
    float
        The duration [h], >= 0.

    Raises
    ------
    UsageError
        For bare numbers, negative durations, unknown units and anything else.
    """
    return as_hours(value, Where(origin, field))


def _fraction_of_percent(text: str) -> Decimal:
    return Decimal(text) / 100


def as_fraction(value: object, where: Where, *, percent: bool) -> float:
    """A fraction in [0, 1], from a number (in percent when ``percent``) or ``'5%'``."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip()[:-1].strip()
        if not _looks_numeric(number) or not math.isfinite(float(number)):
            raise where.error(
                f"{shown(value)} is not a percentage", "write a percentage such as '5%'"
            )
        fraction = _fraction_of_percent(number)
    elif is_number(value):
        number = repr(_finite(value, where))
        fraction = _fraction_of_percent(number) if percent else Decimal(number)
        if not percent and fraction > 1:
            raise where.error(
                f"{value!r} is more than 1; this is a fraction",
                f"write {float(fraction / 100):g} or '{value}%'",
            )
    else:
        raise _not_a_number(value, where, "99.9" if percent else "0.05 or '5%'")
    if not 0 <= fraction <= 1:
        raise where.error(f"{_said(value)} is outside 0-100%", "write a value between 0% and 100%")
    return float(fraction)


def as_availability(value: object, where: Where) -> float:
    """An availability target or limit in percent (``99.9``, ``'99.9%'``) as a fraction.

    A bare number up to 1 is refused: ``0.999`` would mean 0.999 % availability, which
    nobody means, and taking it as the fraction would be a guess.
    """
    if is_number(value) and 0 < value <= 1:
        number = float(value)
        better = f"{number * 100:g}" if number < 1 else "99.9"
        raise where.error(
            f"{number:g} would mean {number:g}% availability",
            f"availability is in percent: write {better}",
        )
    fraction = as_fraction(value, where, percent=True)
    if not 0 < fraction < 1:
        raise where.error(
            f"{_said(value)} is not between 0% and 100% (exclusive)",
            "write a target such as 99.9",
        )
    return fraction


def parse_fraction(value: object, *, origin: str, field: str, percent: bool) -> float:
    """Parse a fraction written as a number or a percentage.

    Parameters
    ----------
    value
        With ``percent``: a number in percent (``99.9``) or ``'99.9%'``. Without: a
        fraction (``0.05``) or ``'5%'``.
    origin, field
        The file and the key path, for the error.
    percent
        Whether a bare number is in percent.

    Returns
    -------
    float
        The fraction [0-1]; ``99.9`` with ``percent`` is exactly ``0.999``.

    Raises
    ------
    UsageError
        For text, booleans, and values outside 0-100%.
    """
    return as_fraction(value, Where(origin, field), percent=percent)
