"""AWS Cost Explorer ``get_cost_and_usage`` -> ``billing`` rows.

``get_cost_and_usage`` is the thin network part (an injected boto3 ``ce`` client; each
request costs money, and there is no paginator, so it follows ``NextPageToken`` by
hand, through a ``collect.paging.PageGuard``: a page cap and repeated-token detection;
a page without ``ResultsByTime``, which is what botocore makes of a cut or malformed
JSON body, is an error, never an empty page). ``parse_cost_and_usage`` turns the responses into rows and is where the logic and
the tests live.

Cost Explorer allows two ``GroupBy`` entries, so each request series groups by
``PURCHASE_TYPE`` and at most one tag key; several tag keys mean several series. Each
series covers the whole spend once, so rows of different tag keys overlap: sum costs
within one tag key, never across them.

One row per (time period, purchase type, tag value):

==================  ===================================================================
billing column      from
==================  ===================================================================
row_key             SHA-256 of period start/end, purchase type, tag key/value, metric
provider            ``aws``
charge_period_*     ``ResultsByTime[].TimePeriod`` (End exclusive) [UTC]
billed_cost         ``Metrics[metric].Amount`` (UnblendedCost by default)
effective_cost      ``Metrics.AmortizedCost.Amount`` when requested, else NaN
billing_currency    the metric's ``Unit`` (``USD``)
pricing_category    PURCHASE_TYPE: Spot -> Dynamic, On Demand -> Standard, Savings Plans
/ is_spot           and Reserved -> Committed (not spot); other values -> Other, unknown
service_name        the one SERVICE the request's filter pins, e.g. "Amazon Elastic
                    Compute Cloud - Compute"; else null
consumed_*          ``Metrics.UsageQuantity`` when requested and its unit is not N/A
tags                ``{"team": "ml"}`` from the group key ``team$ml``; untagged spend
                    (``team$``) is ``{}``; null when no tag key was grouped on
==================  ===================================================================

``Estimated`` periods (the current, unfinished month or day) are kept as they are; their
row keys do not include the flag, so collecting again later replaces them with the final
figures. No account id appears in rows, notes or errors.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from spotadvisor.collect.paging import PageGuard
from spotadvisor.collect.run import scrub_secrets
from spotadvisor.errors import DataError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import BILLING, validate

PURCHASE_TYPE = "PURCHASE_TYPE"
DEFAULT_METRIC = "UnblendedCost"
EFFECTIVE_METRIC = "AmortizedCost"
QUANTITY_METRIC = "UsageQuantity"
ORIGIN = "aws cost explorer get_cost_and_usage"
# Page cap per request series (see collect.paging). Each request costs USD 0.01, and a
# page holds every group of several periods: a year of DAILY results grouped by purchase
# type and one tag takes tens of pages, so 1000 (USD 10 of requests) is a loop.
MAX_PAGES = 1000

# PURCHASE_TYPE value -> (pricing_category, is_spot).
PURCHASE_TYPES: dict[str, tuple[str, bool | None]] = {
    "Spot Instances": ("Dynamic", True),
    "On Demand Instances": ("Standard", False),
    "Dedicated Instances": ("Standard", False),
    "Savings Plans": ("Committed", False),
    "Standard Reserved Instances": ("Committed", False),
    "Convertible Reserved Instances": ("Committed", False),
    "Dedicated Reserved Instances": ("Committed", False),
    "Scheduled Reserved Instances": ("Committed", False),
}
_ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")


# --- the network part ---------------------------------------------------------------------


def get_cost_and_usage(
    client: Any,
    *,
    start: date | str,
    end: date | str,
    granularity: str = "DAILY",
    tag_keys: Sequence[str] = (),
    metrics: Sequence[str] = (DEFAULT_METRIC,),
    filter: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every response page of ``ce.get_cost_and_usage``, one request series per tag key.

    Parameters
    ----------
    client
        A boto3 Cost Explorer client (``boto3.client("ce", region_name="us-east-1")``).
    start, end
        The period [date, UTC]; ``end`` is exclusive, as in the API.
    granularity
        ``DAILY``, ``MONTHLY`` or ``HOURLY``.
    tag_keys
        Cost-allocation tag keys; each gives a series grouped by PURCHASE_TYPE and that
        tag. None: one series grouped by PURCHASE_TYPE only.
    metrics
        ``UnblendedCost``, ``AmortizedCost``, ``UsageQuantity``...
    filter
        A Cost Explorer ``Expression``, e.g. ``{"Dimensions": {"Key": "SERVICE",
        "Values": ["Amazon Elastic Compute Cloud - Compute"]}}``.

    Returns
    -------
    list of dict
        The responses without ``ResponseMetadata``, in request order, each with a
        ``Request`` entry: the parameters sent (without ``NextPageToken``), so that
        ``parse_cost_and_usage`` knows the groups and the filter.

    Raises
    ------
    DataError
        When Cost Explorer refuses or cannot be reached (account ids removed), or a page
        has no ``ResultsByTime`` (a cut or malformed answer).
    PagingError
        When a series sends a ``NextPageToken`` again or pages past ``MAX_PAGES``.
    """

    pages: list[dict[str, Any]] = []
    series: list[str | None] = [*tag_keys] or [None]
    for tag_key in series:
        group_by: list[dict[str, str]] = [{"Type": "DIMENSION", "Key": PURCHASE_TYPE}]
        if tag_key is not None:
            group_by.append({"Type": "TAG", "Key": tag_key})
        request: dict[str, Any] = {
            "TimePeriod": {"Start": _day(start), "End": _day(end)},
            "Granularity": granularity,
            "Metrics": list(metrics),
            "GroupBy": group_by,
        }
        if filter:
            request["Filter"] = dict(filter)
        token: str | None = None
        guard = PageGuard("ce.get_cost_and_usage", MAX_PAGES)
        while True:
            params = dict(request, NextPageToken=token) if token else request
            response = _call(client, params)
            if not isinstance(response.get("ResultsByTime"), list):
                raise DataError(
                    f"Cost Explorer page {guard.pages + 1} has no ResultsByTime "
                    "(a cut or malformed answer)",
                    fix="retry; earlier billing rows are kept",
                )
            page = {k: v for k, v in response.items() if k != "ResponseMetadata"}
            page["Request"] = request
            pages.append(page)
            token = guard.next(response.get("NextPageToken"))
            if token is None:
                break
    return pages


def _day(value: date | str) -> str:
    return value.isoformat()[:10] if isinstance(value, date) else str(value)


def _call(client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        response: dict[str, Any] = client.get_cost_and_usage(**params)
    except Exception as exc:  # botocore's errors; the SDK is imported by the caller
        if not type(exc).__module__.startswith(("botocore", "boto3")):
            raise
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        text = scrub_secrets(_ACCOUNT_ID.sub("<account>", text))
        raise DataError(
            f"Cost Explorer get_cost_and_usage failed: {text}",
            fix="check credentials (ce:GetCostAndUsage is needed), the period and the "
            "tag keys (activated as cost-allocation tags)",
        ) from None
    return response


# --- the pure part ------------------------------------------------------------------------


def parse_cost_and_usage(
    pages: Sequence[Mapping[str, Any]],
    *,
    tag_keys: Sequence[str] = (),
    metric: str = DEFAULT_METRIC,
    source: str,
    as_of: datetime,
    service_name: str | None = None,
) -> pd.DataFrame:
    """Cost Explorer responses -> validated ``billing`` rows.

    Parameters
    ----------
    pages
        Responses of ``get_cost_and_usage`` (with or without their ``Request``).
    tag_keys
        Tag keys the requests grouped by; tells tag groups (``team$ml``) from purchase
        types when a page has no ``GroupDefinitions``.
    metric
        The metric that becomes ``billed_cost`` (``UnblendedCost`` by default).
    source
        Provenance written into every row.
    as_of
        When the figures were fetched [UTC].
    service_name
        Service of every row; by default the one SERVICE the request's filter pins.

    Returns
    -------
    pandas.DataFrame
        One row per (period, purchase type, tag value); empty (with the billing columns)
        when there are no groups.

    Raises
    ------
    DataError
        When a group lacks ``metric`` or a time period is malformed.
    """
    records: list[dict[str, Any]] = []
    for page in pages:
        request = page.get("Request") or {}
        service = service_name or service_of_filter(request.get("Filter"))
        definitions = page.get("GroupDefinitions") or request.get("GroupBy") or []
        for result in page.get("ResultsByTime", []):
            start, end = _period(result)
            for group in result.get("Groups", []):
                records.append(_row(group, definitions, tag_keys, metric, start, end, service))
    if not records:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in BILLING.column_names})
        return validate(frame, BILLING, origin=ORIGIN)
    frame = pd.DataFrame.from_records(records)
    frame["source"] = source
    frame["as_of"] = pd.Timestamp(as_of)
    return validate(frame[BILLING.column_names], BILLING, origin=ORIGIN)


def _period(result: Mapping[str, Any]) -> tuple[pd.Timestamp, pd.Timestamp]:
    period = result.get("TimePeriod") or {}
    try:
        start = pd.Timestamp(period["Start"])
        end = pd.Timestamp(period["End"])
    except (KeyError, ValueError, TypeError):
        raise DataError(
            f"a Cost Explorer result has a bad TimePeriod {dict(period)!r}",
            field="ResultsByTime[].TimePeriod",
            fix="pass the responses of get_cost_and_usage unchanged",
        ) from None
    return _utc(start), _utc(end)


def _utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _row(
    group: Mapping[str, Any],
    definitions: Sequence[Mapping[str, Any]],
    tag_keys: Sequence[str],
    metric: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    service: str | None,
) -> dict[str, Any]:
    purchase, tag_key, tag_value = _group_keys(list(group.get("Keys", [])), definitions, tag_keys)
    metrics = group.get("Metrics") or {}
    if metric not in metrics:
        raise DataError(
            f"a Cost Explorer group has no {metric} metric (it has {', '.join(metrics) or 'none'})",
            field="Metrics",
            fix=f"request {metric} in Metrics, or name one of the requested metrics",
        )
    billed, currency = _amount(metrics[metric])
    effective = _amount(metrics[EFFECTIVE_METRIC])[0] if EFFECTIVE_METRIC in metrics else np.nan
    quantity, unit = (
        _amount(metrics[QUANTITY_METRIC]) if QUANTITY_METRIC in metrics else (np.nan, None)
    )
    if unit is None or unit.upper() == "N/A":  # mixed units: a sum without meaning
        quantity, unit = np.nan, None
    pricing, is_spot = _purchase(purchase)
    if tag_key is None:
        tags = None
    elif tag_value:
        tags = json.dumps({tag_key: tag_value}, sort_keys=True, ensure_ascii=False)
    else:
        tags = "{}"
    key = "\x1f".join(
        [start.isoformat(), end.isoformat(), purchase or "", tag_key or "", tag_value, metric]
    )
    return {
        "row_key": hashlib.sha256(key.encode("utf-8")).hexdigest()[:32],
        "provider": "aws",
        "charge_period_start": start,
        "charge_period_end": end,
        "charge_category": None,
        "billed_cost": billed,
        "effective_cost": effective,
        "list_cost": np.nan,
        "billing_currency": currency,
        "pricing_category": pricing,
        "is_spot": is_spot,
        "service_name": service,
        "region_id": None,
        "availability_zone": None,
        "resource_id": None,
        "sku_id": None,
        "instance_type": None,
        "usage_type": None,
        "consumed_quantity": quantity,
        "consumed_unit": unit,
        "tags": tags,
        "sub_account_id": None,
    }


def _group_keys(
    keys: list[str], definitions: Sequence[Mapping[str, Any]], tag_keys: Sequence[str]
) -> tuple[str | None, str | None, str]:
    """(purchase type, tag key, tag value) of a group's ``Keys``.

    With ``GroupDefinitions`` the positions say which is which; without them, a key
    ``tag$value`` whose tag is in ``tag_keys`` is the tag and the other the purchase type.
    """
    purchase: str | None = None
    tag_key: str | None = None
    tag_value = ""
    if len(definitions) == len(keys):
        for definition, value in zip(definitions, keys, strict=True):
            if definition.get("Type") == "TAG":
                tag_key, _, tag_value = value.partition("$")
                tag_key = tag_key or str(definition.get("Key"))
            elif definition.get("Key") == PURCHASE_TYPE:
                purchase = value
        return purchase, tag_key, tag_value
    for value in keys:
        head, dollar, rest = value.partition("$")
        if dollar and head in tag_keys:
            tag_key, tag_value = head, rest
        else:
            purchase = value
    return purchase, tag_key, tag_value


def _amount(value: Any) -> tuple[float, str | None]:
    if not isinstance(value, Mapping):
        return np.nan, None
    raw = value.get("Amount")
    try:
        amount = float(raw) if raw is not None else np.nan
    except (TypeError, ValueError):
        amount = np.nan
    unit = value.get("Unit")
    return amount, (str(unit) if unit else None)


def _purchase(purchase: str | None) -> tuple[str | None, bool | None]:
    if purchase is None:
        return None, None
    if purchase in PURCHASE_TYPES:
        return PURCHASE_TYPES[purchase]
    lower = purchase.lower()
    if "spot" in lower:
        return "Dynamic", True
    if "reserved" in lower or "savings plan" in lower:
        return "Committed", False
    if "on demand" in lower:
        return "Standard", False
    return "Other", None


def service_of_filter(expression: Any) -> str | None:
    """The one SERVICE a Cost Explorer filter pins (at its top or inside ``And``), else None.

    >>> service_of_filter({"Dimensions": {"Key": "SERVICE", "Values": ["Amazon EC2"]}})
    'Amazon EC2'
    """
    if not isinstance(expression, Mapping):
        return None
    dimension = expression.get("Dimensions")
    if isinstance(dimension, Mapping) and dimension.get("Key") == "SERVICE":
        values = list(dimension.get("Values") or [])
        return str(values[0]) if len(values) == 1 else None
    found = {service_of_filter(e) for e in expression.get("And") or []} - {None}
    return found.pop() if len(found) == 1 else None


def cost_and_usage_notes(
    pages: Sequence[Mapping[str, Any]], frame: pd.DataFrame, tag_keys: Sequence[str] = ()
) -> list[str]:
    """Remarks on a collection: rows, estimated periods, untagged spend, overlapping keys."""
    periods = [r for p in pages for r in p.get("ResultsByTime", [])]
    estimated = sum(1 for r in periods if r.get("Estimated"))
    notes = [f"cost explorer: {len(frame)} rows from {len(periods)} period results"]
    if estimated:
        notes.append(
            f"cost explorer: {estimated} period result(s) are Estimated (not final); "
            "collecting again later replaces them"
        )
    if len(frame) and "tags" in frame:
        untagged = int(frame["tags"].eq("{}").fillna(False).sum())
        if untagged:
            notes.append(f"cost explorer: {untagged} rows are untagged spend (tags {{}})")
    if len(tag_keys) > 1:
        notes.append(
            "cost explorer: each tag key is a separate series over the same spend; "
            "sum costs within one tag key, not across them"
        )
    return notes


def cost_and_usage_batch(
    pages: Sequence[Mapping[str, Any]],
    *,
    tag_keys: Sequence[str] = (),
    metric: str = DEFAULT_METRIC,
    source: str,
    as_of: datetime,
    service_name: str | None = None,
) -> ImportBatch:
    """``parse_cost_and_usage`` and its notes as one batch, ready for ``Store.write``."""
    frame = parse_cost_and_usage(
        pages,
        tag_keys=tag_keys,
        metric=metric,
        source=source,
        as_of=as_of,
        service_name=service_name,
    )
    notes = cost_and_usage_notes(pages, frame, tag_keys)
    return ImportBatch(BILLING, frame, source, ORIGIN, tuple(notes))
