"""One error hierarchy for the whole package.

Every error a user can cause carries what went wrong, where (file and field when there is
one) and how to fix it. The CLI turns these into a single line on stderr and an exit code
(see README, "Exit codes"); nothing here prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum

COMMAND_LINE = "command line"
"""The ``file`` of an error in a flag's value: left out of the one-line message."""


class ExitCode(IntEnum):
    """Process exit codes, as documented in the README."""

    OK = 0
    POLICY_FAILED = 1
    BAD_INPUT = 2
    DATA_PROBLEM = 3
    INTERRUPTED = 130
    """Ctrl-C (SIGINT), as shells report it: 128 + 2."""


class SpotadvisorError(Exception):
    """Base of every error spotadvisor raises on purpose.

    Parameters
    ----------
    message
        What went wrong, as one sentence without a trailing full stop.
    fix
        What the user should do about it.
    file
        The file the problem is in, if any.
    field
        The field, column, option or key the problem is in, if any.
    """

    exit_code: ExitCode = ExitCode.POLICY_FAILED

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        file: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.file = file
        self.field = field

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        """The error as one line: ``file: field: message. fix``."""
        # "command line" is where flags come from, not a file; a message that already starts
        # with its place (a duration error re-raised for its option) is not prefixed twice
        parts = [p for p in (self.file, self.field) if p and p != COMMAND_LINE]
        text = self.message
        for part in reversed(parts):
            if not text.startswith(f"{part}: "):
                text = f"{part}: {text}"
        text = _sentence(text)
        if self.fix:
            text = f"{text} {_sentence(self.fix)}"
        return " ".join(text.split())


class PolicyFailure(SpotadvisorError):
    """A gate or policy rule failed (exit code 1)."""

    exit_code = ExitCode.POLICY_FAILED


class UsageError(SpotadvisorError):
    """Bad usage or bad input: a flag value, a file or a field is wrong (exit code 2)."""

    exit_code = ExitCode.BAD_INPUT


class DataError(SpotadvisorError):
    """Data is missing, stale, unreadable or unreachable (exit code 3)."""

    exit_code = ExitCode.DATA_PROBLEM


class StoreBusyError(DataError):
    """Another process holds the store's write lock."""


class StoreUnreadableError(DataError):
    """The store exists but cannot be used: damaged, truncated, not a DuckDB file, or
    written by a newer spotadvisor (exit code 3; never a silent fallback to the snapshot)."""


def did_you_mean(value: str, choices: Iterable[str], *, limit: int = 3) -> str | None:
    """A "Did you mean ...?" hint for a misspelt name, or None when nothing is close.

    Matching ignores case and look-alike characters (O and 0, l and 1), so ``H1OO``
    finds ``H100``; the suggestions keep the spelling of ``choices``.
    """
    by_folded: dict[str, str] = {}
    for choice in choices:
        by_folded.setdefault(_fold(choice), choice)
    close = difflib.get_close_matches(_fold(value), list(by_folded), n=limit, cutoff=0.6)
    if not close:
        return None
    names = ", ".join(f"'{by_folded[c]}'" for c in close)
    return f"Did you mean {names}?"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!", ":")) else f"{text}."


_LOOK_ALIKES = str.maketrans({"o": "0", "l": "1", "i": "1"})


def _fold(text: str) -> str:
    return text.casefold().translate(_LOOK_ALIKES)
