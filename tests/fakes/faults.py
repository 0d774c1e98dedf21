"""The fault vocabulary shared by the local fakes (``aws.py``, ``gcp.py``, ``azure.py``).

Every fake has ``inject(fault, target, ...)`` with these names, ``clear_faults()`` to
end them all, and the older per-fake methods (``throttle``, ``hang``, ``malformed``...)
still work. ``target`` is what the fake calls an API: an action for ``FakeAws``
(``"GetProducts"``, ``"DescribeSpotPriceHistory"``...), an API for ``FakeGcp``
(``"catalog"``, ``"bigquery"``) and ``FakeAzure`` (``"retail-prices"``,
``"resource-graph"``, ``"consumption"``); ``"*"`` is every one.

==============  ========================================================================
fault           what the client gets
==============  ========================================================================
``throttle``    the API's own rate-limit answer (EC2 503 ``RequestLimitExceeded``, Price
                List ``ThrottlingException``, Google 429 ``RESOURCE_EXHAUSTED``, Azure
                429 with ``Retry-After: 0``), ``times`` times
``hang``        no answer for ``seconds`` (cut short when the fake stops)
``trickle``     HTTP 200 with the whole body, sent ``chunk_bytes`` at a time with
                ``seconds`` between chunks (a socket read timeout never fires)
``truncate``    HTTP 200 with the body cut in half (invalid JSON or XML)
``empty``       HTTP 200 with a valid page holding no items and no next page
``page_cycle``  the next-page token of page ``at_page`` points back to page
                ``back_to`` (pages before ``at_page`` always carry a next token, even
                past the data): the listing goes 1, 2, ..., at_page, back_to, ... until
                ``limit`` cycled answers were sent, after which page ``at_page`` ends
                the listing, so an unguarded client stops (and its test fails on its
                assertions instead of hanging). ``fresh=True`` makes every cycled
                token distinct (a counter in it): only a page cap can stop that loop.
``http_403``    the API's permission error (HTTP 403)
``http_500``    the API's internal error (HTTP 500), which SDKs retry
==============  ========================================================================

``page`` (1-based) limits a fault to one page of a listing where the fake knows pages
(``empty``, ``truncate``, ``trickle``); ``times`` limits how often it fires (None:
until cleared); ``region`` limits it to requests for one region where the fake can tell
(AWS: the region a request is signed for).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import BinaryIO


class Fault(StrEnum):
    """The faults every fake can inject (see the module docstring)."""

    THROTTLE = "throttle"
    HANG = "hang"
    TRICKLE = "trickle"
    TRUNCATE = "truncate"
    EMPTY = "empty"
    PAGE_CYCLE = "page_cycle"
    HTTP_403 = "http_403"
    HTTP_500 = "http_500"


HTTP_STATUS = {Fault.HTTP_403: 403, Fault.HTTP_500: 500}
CYCLE_LIMIT = 1000  # cycled answers before a page cycle gives up (see the docstring)


@dataclass
class Injected:
    """One active fault.

    Attributes
    ----------
    fault, target
        What and where (``"*"``: every API of the fake).
    page
        The page it applies to; None: every request.
    times
        How many more times it fires; None: until cleared.
    region
        Only requests for this region; None: any.
    seconds
        ``hang``: how long; ``trickle``: the pause between chunks.
    chunk_bytes
        ``trickle``: bytes per write.
    at_page, back_to, fresh, limit
        ``page_cycle`` (see the module docstring).
    served
        ``page_cycle``: cycled answers sent so far.
    """

    fault: Fault
    target: str = "*"
    page: int | None = None
    times: int | None = None
    region: str | None = None
    seconds: float = 0.0
    chunk_bytes: int = 16
    at_page: int = 3
    back_to: int = 2
    fresh: bool = False
    limit: int = CYCLE_LIMIT
    served: int = 0


@dataclass(frozen=True)
class NextPage:
    """Where a cycled listing goes next: ``page``, with ``serial`` in the token when the
    cycle makes every token distinct (else None)."""

    page: int
    serial: int | None = None


class FaultTable:
    """The active faults of one fake; every method is safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Injected] = []

    def add(self, injected: Injected) -> None:
        """Activate ``injected``, replacing a fault of the same kind, target and page."""
        if injected.page is not None and injected.page < 1:
            raise ValueError("pages are numbered from 1")
        if injected.fault is Fault.PAGE_CYCLE and not 2 <= injected.back_to <= injected.at_page:
            raise ValueError("a page cycle goes back to a page from 2 to at_page")
        with self._lock:
            self._items = [
                i
                for i in self._items
                if (i.fault, i.target, i.page) != (injected.fault, injected.target, injected.page)
            ]
            self._items.append(replace(injected))

    def remove(self, fault: Fault, target: str) -> None:
        """End every ``fault`` on ``target``."""
        with self._lock:
            self._items = [i for i in self._items if (i.fault, i.target) != (fault, target)]

    def clear(self) -> None:
        """End every fault."""
        with self._lock:
            self._items.clear()

    def take(
        self, fault: Fault, target: str, *, page: int | None = None, region: str | None = None
    ) -> Injected | None:
        """The active ``fault`` matching this request, one of its ``times`` used up.

        A fault with a ``page`` matches only a request whose ``page`` is known and equal.
        """
        with self._lock:
            for item in self._items:
                if item.fault is not fault or item.target not in ("*", target):
                    continue
                if item.page is not None and item.page != page:
                    continue
                if item.region is not None and item.region != region:
                    continue
                if item.times is not None:
                    if item.times <= 0:
                        continue
                    item.times -= 1
                return replace(item)
        return None

    def first_status(self, target: str, *, region: str | None = None) -> int | None:
        """The HTTP status of an active ``http_403`` / ``http_500`` fault, used up once."""
        for fault, status in HTTP_STATUS.items():
            if self.take(fault, target, region=region) is not None:
                return status
        return None

    def next_page(self, target: str, page: int) -> NextPage | None:
        """Where the next-page token of ``page`` points under a ``page_cycle`` fault.

        None: no cycle is active (or it gave up): the fake pages as usual.
        """
        with self._lock:
            for item in self._items:
                if item.fault is not Fault.PAGE_CYCLE or item.target not in ("*", target):
                    continue
                if page < item.at_page:
                    return NextPage(page + 1, item.served if item.fresh else None)
                if page == item.at_page and item.served < item.limit:
                    item.served += 1
                    return NextPage(item.back_to, item.served if item.fresh else None)
                return None
        return None


def truncated(body: bytes) -> bytes:
    """The first half of ``body``."""
    return body[: len(body) // 2]


def send_slowly(
    out: BinaryIO, body: bytes, chunk_bytes: int, pause_s: float, stopping: threading.Event
) -> None:
    """Write ``body`` ``chunk_bytes`` at a time, ``pause_s`` apart, until the fake stops."""
    step = max(1, chunk_bytes)
    for start in range(0, len(body), step):
        with contextlib.suppress(AttributeError):
            out.flush()
        if start and stopping.wait(pause_s):
            return
        out.write(body[start : start + step])
    with contextlib.suppress(AttributeError):
        out.flush()


def injected(
    fault: Fault | str,
    target: str = "*",
    *,
    page: int | None = None,
    times: int | None = None,
    region: str | None = None,
    seconds: float | None = None,
    chunk_bytes: int = 16,
    at_page: int = 3,
    back_to: int = 2,
    fresh: bool = False,
    limit: int = CYCLE_LIMIT,
) -> Injected:
    """An ``Injected`` from ``inject``'s arguments, with each fault's defaults
    (``hang`` 30 s, ``trickle`` 0.05 s between chunks; ``empty`` and ``truncate`` on
    page 1 unless told)."""
    kind = Fault(fault)
    if seconds is None:
        seconds = {Fault.HANG: 30.0, Fault.TRICKLE: 0.05}.get(kind, 0.0)
    if page is None and kind in (Fault.EMPTY, Fault.TRUNCATE):
        page = 1
    return Injected(
        kind,
        target,
        page=page,
        times=times,
        region=region,
        seconds=float(seconds),
        chunk_bytes=chunk_bytes,
        at_page=at_page,
        back_to=back_to,
        fresh=fresh,
        limit=limit,
    )


__all__ = [
    "CYCLE_LIMIT",
    "HTTP_STATUS",
    "Fault",
    "FaultTable",
    "Injected",
    "NextPage",
    "injected",
    "send_slowly",
    "truncated",
]
