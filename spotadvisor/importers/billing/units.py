"""Usage units that mean hours, as billing exports spell them: the one definition.

Every reader that turns a billing line's ``consumed_unit`` (or a remote export's pricing
unit) into hours uses :data:`HOURS_UNIT`: the report's SQL for each engine
(:func:`hours_unit_sql`, :func:`hours_per_unit_sql`) and pandas code
(:func:`hours_per_unit`, :func:`hours_per_unit_series`).

Spellings, and where they occur:

* ``Hrs``: AWS CUR ``pricing/unit`` / ``pricing_unit`` of EC2 instance usage, and Cost
  Explorer's ``UsageQuantity`` unit.
* ``Hours``: FOCUS ``ConsumedUnit``/``PricingUnit`` (the FOCUS 1.0 sample's AWS instance
  hours); Azure MCA ``UnitOfMeasure``.
* ``1 Hour``: Azure EA cost details ``UnitOfMeasure`` (the finops-toolkit and
  focus_converters samples) and Azure Retail Prices.
* ``hour``: GCP billing export ``usage.pricing_unit``.
* ``1 Hours``, ``1 hour``, ``1 1 Hour``, ``1 hora``, ``1 小时`` (block size 1) and ``10 Hour``,
  ``10 Hours``, ``100 Hours`` ... ``100000 Hours``, ``10 Instance Hours`` (block size N):
  Azure ``UnitOfMeasure`` values in the FinOps toolkit's ``PricingUnits.csv``.

Case, surrounding spaces and a trailing dot (``Hrs.``) do not matter; ``h``, ``hr`` and
``hrs`` are accepted too. Units that are *something else* per hour are not hours:
``vCPU-Hours``, ``GB Hours``, ``LCU-Hours``, ``ACU-Hours``, ``OCPU Hours``,
``Units/Hour``, ``1/Hour``, ``OCPU Per Hour``, ``100 Core Hours``, ``1000 Relay Hours``.

**Block units.** ``10 Hours`` is Azure block pricing: the price is per block of ten
hours and the export's ``Quantity`` counts blocks (cost = ``Quantity`` x ``UnitPrice``,
as the samples' ``10K`` lines show). So a quantity in ``N Hours`` is ``N`` x quantity
hours: :func:`hours_per_unit` returns ``N`` (1 when there is no number) and every reader
multiplies by it.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

Dialect = Literal["duckdb", "trino", "bigquery"]

#: A unit that means hours, optionally a block of N > 0 hours (group 1: N). Written without
#: backslashes or quotes so the same text is a valid string literal in DuckDB, Trino and
#: BigQuery SQL, and with one capturing group (BigQuery's REGEXP_EXTRACT allows one).
HOURS_UNIT = (
    "(?i)^ *(?:([0-9]*[1-9][0-9]*) +)?(?:1 +)?(?:instance +)?(?:hours?|hrs?[.]?|h|horas?|小时) *$"
)
_HOURS_UNIT = re.compile(HOURS_UNIT)


def hours_per_unit(unit: object) -> float | None:
    """Hours in one ``unit``: ``Hrs``/``Hours``/``1 Hour`` -> 1, ``10 Hours`` -> 10.

    None when ``unit`` is not a unit of hours (``GB Hours``, ``vCPU-Hours``, ``GB``,
    ``0 Hours``) or is missing.
    """
    if not isinstance(unit, str):
        return None
    match = _HOURS_UNIT.match(unit)
    if match is None:
        return None
    return 1.0 if match.group(1) is None else float(match.group(1))


def is_hours_unit(unit: object) -> bool:
    """True when ``unit`` is a unit of hours (see :func:`hours_per_unit`)."""
    return hours_per_unit(unit) is not None


def hours_per_unit_series(units: pd.Series) -> pd.Series:
    """:func:`hours_per_unit` of each value: float, NaN where the unit is not hours.

    Each distinct unit is parsed once (an export has a few dozen), so this is fast on
    millions of lines.
    """
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(units.astype(object), use_na_sentinel=True)
    lookup = [hours_per_unit(u) for u in distinct]
    table = np.array([math.nan if v is None else v for v in lookup] + [math.nan])
    return pd.Series(table[codes], index=units.index, dtype="float64")


_MATCH = {"duckdb": "regexp_matches", "trino": "regexp_like", "bigquery": "REGEXP_CONTAINS"}
_DOUBLE = {"duckdb": "DOUBLE", "trino": "DOUBLE", "bigquery": "FLOAT64"}


def hours_unit_sql(unit: str, dialect: Dialect = "duckdb") -> str:
    """SQL that is true when the SQL expression ``unit`` is a unit of hours."""
    return f"{_MATCH[dialect]}({unit}, '{HOURS_UNIT}')"


def hours_per_unit_sql(unit: str, dialect: Dialect = "duckdb") -> str:
    """SQL for the hours in one ``unit`` (``N`` of ``N Hours``, else 1).

    Only meaningful where :func:`hours_unit_sql` is true; multiply the quantity by it.
    """
    group = (
        f"REGEXP_EXTRACT({unit}, '{HOURS_UNIT}')"
        if dialect == "bigquery"
        else (f"regexp_extract({unit}, '{HOURS_UNIT}', 1)")
    )
    return f"COALESCE(CAST(NULLIF({group}, '') AS {_DOUBLE[dialect]}), 1)"
