"""A mapping of a YAML document with its key path: unknown keys, required keys, defaults."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from spotadvisor.config.values import Where, describe
from spotadvisor.errors import did_you_mean

T = TypeVar("T")


class Section:
    """The keys of one YAML mapping, each read at most through one parser.

    A key whose value is null counts as absent: ``policy:`` with every line commented
    out means the defaults.
    """

    def __init__(self, data: Mapping[str, object], where: Where) -> None:
        self.data = data
        self.where = where

    @classmethod
    def read(
        cls,
        value: object,
        where: Where,
        allowed: Collection[str],
        *,
        misplaced: Mapping[str, str] | None = None,
        fix: str = "indent 'key: value' lines under it",
    ) -> Section:
        """Check ``value`` is a mapping whose keys are all in ``allowed``.

        Parameters
        ----------
        value, where
            The YAML value and its place.
        allowed
            The keys this mapping may have.
        misplaced
            Keys that belong elsewhere, with the fix to give when one appears here.
        fix
            The fix when ``value`` is not a mapping.
        """
        if not isinstance(value, dict):
            raise where.error(f"expected a mapping, got {describe(value)}", fix)
        for key in value:
            name = str(key)
            if misplaced and name in misplaced:
                raise where.key(name).error(f"{name} does not belong here", misplaced[name])
            if not isinstance(key, str) or key not in allowed:
                listing = f"allowed keys here: {', '.join(allowed)}"
                raise where.key(name).error(
                    f"unknown key {name!r}", did_you_mean(name, allowed) or listing
                )
        return cls(value, where)

    def at(self, key: str) -> Where:
        """The place of ``key`` in this mapping."""
        return self.where.key(key)

    def has(self, key: str) -> bool:
        """Whether ``key`` is given (with a non-null value)."""
        return self.data.get(key) is not None

    def optional(self, key: str, parse: Callable[[object, Where], T], default: T) -> T:
        """``parse`` of the value of ``key``, or ``default`` when absent."""
        return parse(self.data[key], self.at(key)) if self.has(key) else default

    def maybe(self, key: str, parse: Callable[[object, Where], T]) -> T | None:
        """``parse`` of the value of ``key``, or None when absent."""
        return parse(self.data[key], self.at(key)) if self.has(key) else None

    def required(self, key: str, parse: Callable[[object, Where], T], fix: str) -> T:
        """``parse`` of the value of ``key``; a missing key is an error with ``fix``."""
        if not self.has(key):
            state = "has no value" if key in self.data else "is missing"
            raise self.at(key).error(f"required key {key!r} {state}", fix)
        return parse(self.data[key], self.at(key))
