"""Reproducible default seeds: the same request on the same data draws the same dice.

A run without ``--seed`` (or ``seed:`` in a fleet file) does not take a seed from the
operating system: it derives one from what decides the answer, so running it again on the
same data prints the same figures, and a change to the request or to the data draws new
dice. The seed is the first 32 bits of a SHA-256 over a canonical JSON text of:

- the command (``recommend``, ``simulate``), so two commands never share a stream by
  accident;
- the request: every setting after the flags are applied (workload, SLA and risk budget,
  horizon, trials, policy, risk, spot prices, load and scaling; for ``recommend`` also
  the host filter and ``--budget``), without presentation (output format, ``--limit``,
  where the fleet file lives) and without what-ifs, which run with the baseline's seed;
- a digest of every table read (:func:`frame_digest`, rows in the order read), so a
  ``data import`` or a ``collect`` changes the seed;
- the engine's inputs as resolved (prices, bands, and the hazards and risk that
  ``--params`` or ``--rates measured`` put on the pools).

Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import Literal

import numpy as np
import pandas as pd

SeedOrigin = Literal["given", "derived"]

#: Salt of the hash; bumped when the derivation changes, so the new rule gives new seeds.
DERIVATION = "spotadvisor-seed-1"
SEED_BITS = 32  # small enough to print and type back as --seed


@dataclass(frozen=True)
class Seed:
    """The seed of a run and where it came from.

    Attributes
    ----------
    value
        The seed [0, 2**32).
    origin
        ``given`` (``--seed`` or the fleet file's ``seed:``) or ``derived`` (from the
        request and the data, see the module docstring).
    """

    value: int
    origin: SeedOrigin

    def describe(self) -> str:
        """``seed 7 (given)`` or ``seed 123 (derived from the request and the data)``."""
        how = "given" if self.origin == "given" else "derived from the request and the data"
        return f"seed {self.value} ({how})"


def canonical(value: object) -> object:
    """``value`` as plain JSON values, the same for equal inputs on every run.

    Dataclasses become ``{"type": name, field: value}`` over the fields that take part
    in equality (a field declared ``compare=False``, such as where an override came
    from, is presentation and left out); mappings have sorted text keys; tuples and
    lists become lists; floats keep every digit (``repr``), NaN and infinities as text;
    dates are ISO text; a DataFrame is replaced by its :func:`frame_digest`.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: canonical(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.compare
        }
        return {"type": type(value).__name__, **fields}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, pd.DataFrame):
        return frame_digest(value)
    if isinstance(value, np.ndarray):
        return [canonical(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, np.generic):
        return canonical(value.item())
    if isinstance(value, float):
        return repr(value) if not math.isfinite(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"no canonical form for {type(value).__name__}")


def frame_digest(frame: pd.DataFrame) -> str:
    """``sha256:<hex>`` of a table's columns, types and rows, in the order read.

    Each row is hashed by pandas' row hash (SipHash with its fixed key), and the row
    hashes with the column names and types by SHA-256: a few milliseconds for 10,000
    rows.
    """
    header = json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()])
    rows = pd.util.hash_pandas_object(frame, index=False, categorize=False).to_numpy()
    digest = hashlib.sha256(header.encode() + b"\n" + rows.astype("<u8").tobytes())
    return f"sha256:{digest.hexdigest()}"


def derive_seed(command: str, *parts: object) -> int:
    """A seed in [0, 2**32) from ``command`` and ``parts`` (see the module docstring).

    Parameters
    ----------
    command
        The command deriving it (``recommend``, ``simulate``).
    parts
        What decides the answer: the request, table digests, the resolved engine inputs;
        anything :func:`canonical` takes.
    """
    text = json.dumps(
        [DERIVATION, command, *(canonical(p) for p in parts)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[: SEED_BITS // 8], "big")


def choose_seed(given: int | None, command: str, *parts: object) -> Seed:
    """``given`` when there is one, else the seed derived from ``parts``."""
    if given is not None:
        return Seed(given, "given")
    return Seed(derive_seed(command, *parts), "derived")
