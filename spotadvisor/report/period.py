"""The calendar month a report covers, and the month before it (UTC)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from spotadvisor.errors import UsageError

_MONTH = re.compile(r"(\d{4})-(\d{2})")
#: Months a report can cover: the report reads the month before too, and its dates go
#: through pandas, whose timestamps end in April 2262. Cloud billing began in 2006.
FIRST_MONTH = (1970, 1)
LAST_MONTH = (2261, 12)


@dataclass(frozen=True)
class Month:
    """One calendar month in UTC.

    Attributes
    ----------
    year, month
        The month, e.g. 2026 and 10.
    """

    year: int
    month: int

    @classmethod
    def parse(cls, text: str, *, field: str = "--month") -> Month:
        """``YYYY-MM`` -> Month.

        Raises
        ------
        UsageError
            When ``text`` is not a month such as ``2026-10``, or is outside
            ``FIRST_MONTH`` to ``LAST_MONTH``.
        """
        match = _MONTH.fullmatch(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise UsageError(
                f"{text!r} is not a month", field=field, fix="write it as YYYY-MM, e.g. 2026-10"
            )
        month = cls(int(match.group(1)), int(match.group(2)))
        if not FIRST_MONTH <= (month.year, month.month) <= LAST_MONTH:
            first, last = cls(*FIRST_MONTH), cls(*LAST_MONTH)
            raise UsageError(
                f"{month.label} is outside the months a report can cover",
                field=field,
                fix=f"give a month from {first.label} to {last.label}",
            )
        return month

    @classmethod
    def last_complete(cls, now: datetime | None = None) -> Month:
        """The last month that has ended by ``now`` (default: the current time, UTC)."""
        now = now or datetime.now(UTC)
        return cls(now.year, now.month).previous

    @property
    def start(self) -> datetime:
        """First instant of the month (UTC)."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """First instant of the next month (UTC, exclusive)."""
        return self.next.start

    @property
    def next(self) -> Month:
        """The month after this one."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        """The month before this one."""
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def hours(self) -> float:
        """Length of the month [h]."""
        return (self.end - self.start).total_seconds() / 3600.0

    @property
    def days(self) -> int:
        """Days in the month."""
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def title(self) -> str:
        """``October 2026``."""
        return self.start.strftime("%B %Y")

    def week_label(self, week: int) -> str:
        """Days of week ``week`` (1-5) of the month, e.g. ``1-7 Oct``; weeks are days
        1-7, 8-14, 15-21, 22-28 and 29 to the end, so every month has comparable weeks."""
        first = 7 * (week - 1) + 1
        last = min(first + 6, self.days) if week < 5 else self.days
        abbrev = self.start.strftime("%b")
        return f"{first}\u2013{last} {abbrev}" if last > first else f"{first} {abbrev}"

    @property
    def weeks(self) -> tuple[int, ...]:
        """Week numbers the month has (4 in a 28-day February, else 5)."""
        return (1, 2, 3, 4, 5) if self.days > 28 else (1, 2, 3, 4)

    def __str__(self) -> str:
        return self.label
