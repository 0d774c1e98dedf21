"""Pure flattening of Azure Consumption API usage details into cost-details rows.

Legacy and modern usage-detail items (as JSON) are flattened into the column names of
Azure's cost-details CSV exports by ``usage_details_rows``, so that the same code maps
both (``importers.billing.azure``) and an API pull and an exported file give the same
rows. Nothing here calls a network or reads a file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from spotadvisor.errors import DataError
from spotadvisor.importers.billing.common import RawRows

# Names of the modern API's properties as the cost-details CSV columns of the same
# facts (the CSV of a legacy/EA account uses the legacy names, which need no mapping).
_MODERN_TO_CSV = {
    "instanceName": "ResourceId",
    "subscriptionGuid": "SubscriptionId",
    "product": "ProductName",
}


def usage_details_rows(items: Iterable[Mapping[str, Any]]) -> RawRows:
    """Usage details (legacy and modern items, as JSON) flattened into cost-details rows.

    Each item's ``properties`` become columns; ``meterDetails`` (legacy, when expanded)
    adds ``meterName``, ``meterCategory``... where the item lacks them; ``tags`` and
    ``additionalInfo`` objects become JSON text; the modern names that differ from the
    export columns (``instanceName``, ``subscriptionGuid``, ``product``) are renamed.
    Column names keep the API's camelCase: ``importers.billing.azure`` reads any case.

    Raises
    ------
    DataError
        When an item is not an object with ``properties``.
    """
    records: list[dict[str, Any]] = []
    for number, item in enumerate(items):
        properties = item.get("properties") if isinstance(item, Mapping) else None
        if not isinstance(properties, Mapping):
            raise DataError(
                f"usage detail {number} has no properties object",
                field="properties",
                fix="retry; if it persists the Consumption API changed its format",
            )
        modern = str(item.get("kind", "")).lower() == "modern"
        record: dict[str, Any] = {}
        for key, value in properties.items():
            if key == "meterDetails":
                continue
            name = _MODERN_TO_CSV.get(str(key), str(key)) if modern else str(key)
            record[name] = value
        details = properties.get("meterDetails")
        if isinstance(details, Mapping):
            for key, value in details.items():
                record.setdefault(key, value)
        tags = item.get("tags")
        record["Tags"] = json.dumps(tags, sort_keys=True) if isinstance(tags, Mapping) else None
        record["kind"] = item.get("kind")
        records.append(record)
    frame = pd.DataFrame(records)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name in frame.columns:
        values = [_cell(v) for v in frame[name].tolist()]
        out[str(name)] = pd.Series(values, dtype="string").str.strip()
    return RawRows(out, "api")


def _cell(value: Any) -> str | None:
    """One JSON value as cost-details text (objects as JSON, missing as None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True)
    text = repr(value) if isinstance(value, float) else str(value)
    return text if text.strip() else None
