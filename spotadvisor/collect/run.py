"""Run collection tasks in parallel and report what each brought back or why it failed.

A task is one source in one region (``spot-prices`` in ``us-east-1``). Tasks run in a
bounded thread pool (SDK calls spend their time waiting on the network); a task that
fails costs only itself. Nothing here writes: the collector writes everything that
succeeded in one transaction at the end.

An answer with nothing in it is not "0 rows": a task whose ``scope`` names earlier data
(in the store or the embedded snapshot) that its answer would replace fails when it
brings nothing back where that data exists (``EarlierData``), so an empty or cut answer
never rebuilds offers without their prices; the earlier rows stay as they are. Error
texts are scrubbed of account ids and credentials (``scrub``, ``scrub_secrets``).
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from spotadvisor.errors import DataError
from spotadvisor.importers.base import ImportBatch
from spotadvisor.schema import Table
from spotadvisor.store import Store, UpsertResult

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TaskOutput:
    """What a task produced: canonical batches to write, and data for later steps.

    Attributes
    ----------
    batches
        Rows for canonical tables, written as soon as the task finishes.
    data
        Anything a later step needs that is not a table row (e.g. on-demand prices
        that only become offers once joined with spot prices).
    answer
        What came back, said in the error when it was empty where earlier data exists
        (e.g. ``an empty PriceList``); empty: "nothing came back".
    """

    batches: list[ImportBatch] = field(default_factory=list)
    data: object = None
    answer: str = ""

    @property
    def rows(self) -> int:
        """Rows brought back: in the batches, and in ``data`` when it has a length."""
        extra = len(self.data) if hasattr(self.data, "__len__") else 0
        return sum(len(b.frame) for b in self.batches) + extra


@dataclass(frozen=True)
class Scope:
    """The earlier data a task's answer stands for: an empty answer where it exists fails
    the task (see ``EarlierData``).

    Attributes
    ----------
    table
        The canonical table holding that data.
    cloud
        Its cloud (``provider`` for billing); None: any.
    regions, instance_types
        Its regions and instance types; empty: any.
    columns
        Rows count only where one of these is known (a price); empty: every row.
    sources
        Rows count only when their source starts with one of these; empty: any source.
    what
        What those rows are, for the error (``on-demand prices``).
    """

    table: Table
    cloud: str | None = None
    regions: tuple[str, ...] = ()
    instance_types: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    what: str = "rows"


@dataclass(frozen=True)
class Task:
    """One unit of collection work.

    Attributes
    ----------
    source
        What is collected, e.g. ``spot-prices``.
    region
        The region it covers, or None for a global source.
    work
        Does the calls and returns what it found (no writing).
    describe
        What the task would call, for ``--dry-run``.
    scope
        The earlier data its answer replaces; None: an empty answer is just 0 rows.
    """

    source: str
    region: str | None
    work: Callable[[], TaskOutput]
    describe: str = ""
    scope: Scope | None = None


@dataclass(frozen=True)
class TaskResult:
    """How one task went.

    Attributes
    ----------
    source, region
        The task.
    started_at, finished_at
        UTC times.
    rows
        Rows the task produced (and that were written, unless a dry run).
    error
        One line saying what went wrong, or None.
    output
        What it produced (kept so later steps, such as building offers, can use it).
    scope
        The task's ``Scope`` (so a later step knows what a failed task left unrefreshed).
    """

    source: str
    region: str | None
    started_at: datetime
    finished_at: datetime
    rows: int
    error: str | None
    output: TaskOutput = field(default_factory=TaskOutput, repr=False)
    scope: Scope | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when the task succeeded."""
        return self.error is None


_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_ACCESS_KEY = re.compile(
    r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{12,}\b"
)
_TAGS = re.compile(r"<[^>]+>")
MAX_ERROR_CHARS = 200

# Secrets, in the order they are taken out (a whole token before its parts).
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
)
_JWT = re.compile(r"\beyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/-]+=*)")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+):[^/\s@]+@")
# key=value or "key": "value" where the key names a secret
_SECRET_FIELD = re.compile(
    r"(?i)\b(aws_secret_access_key|secret_?access_?key|aws_session_token|session_?token|"
    r"security_?token|client_secret|password|passwd|access_token|refresh_token|id_token|"
    r"api_?key|private_?key|account_?key|shared_?access_?key)"
    r"([\"']?\s*[=:]\s*[\"']?)[^\s&,;\"'<>]+"
)
# key=value only (query strings, Authorization headers): these names are ordinary words too
_SECRET_PARAM = re.compile(
    r"(?i)(?<![\w-])((?:x-amz-)?(?:signature|credential|security-token)|sig|key|token|secret|pwd)"
    r"=[^\s&,;\"'<>]+"
)
# the other parameters of an Azure SAS (expiry, version, permissions, signing key...)
_SAS_PARAM = re.compile(
    r"(?i)([?&])(se|sv|st|sp|spr|sr|srt|ss|si|sdd|skoid|sktid|skt|ske|sks|skv)=[^\s&#,;\"'<>]*"
)
_SESSION_TOKEN = re.compile(
    r"(?<![A-Za-z0-9/+=])(?:FwoG|FQoG|IQoJ|IQoD|IQoB|AQoD|AQoE|AgoJ)[A-Za-z0-9/+=]{40,}"
)
_GOOGLE_TOKEN = re.compile(r"\bya29\.[\w.-]+")
_GOOGLE_API_KEY = re.compile(r"\bAIza[\w-]{20,}")
# a bare AWS secret access key (40 characters), an Azure account key (88) or any other
# long base64 run: told from ordinary words by mixing upper and lower case and digits
_BARE_SECRET = re.compile(r"(?<![A-Za-z0-9/+=_.-])[A-Za-z0-9/+]{40,}={0,2}(?![A-Za-z0-9/+=_.-])")


def _auth_scheme(match: re.Match[str]) -> str:
    token = match.group(2)
    if token.isalpha() and token.islower():  # an ordinary word ("bearer token policy")
        return match.group(0)
    return f"{match.group(1)} <redacted>"


def _bare_secret(match: re.Match[str]) -> str:
    text = match.group(0)
    body = text.rstrip("=")
    mixed = (
        any(c.isupper() for c in body)
        and any(c.islower() for c in body)
        and any(c.isdigit() or c in "/+" for c in body)
    )
    if mixed and (len(body) == 40 or len(body) >= 60 or "/" in body or "+" in body):
        return "<secret>"
    return text


def scrub_secrets(text: str) -> str:
    """``text`` without credentials: access and secret keys, session tokens, signatures,
    SAS query strings, bearer tokens, passwords, client secrets, Google tokens and API
    keys, JWTs and private keys (ordinary words, regions, instance types, zone and SKU
    ids are left alone).

    >>> scrub_secrets("GET /c?sv=2022-11-02&se=2025-01-01&sig=abc%3D&comp=list")
    'GET /c?sv=<redacted>&se=<redacted>&sig=<redacted>&comp=list'
    >>> scrub_secrets("us-east-1 p4d.24xlarge use1-az4 341A-49A5-0C07")
    'us-east-1 p4d.24xlarge use1-az4 341A-49A5-0C07'
    """
    text = _PRIVATE_KEY.sub("<private-key>", text)
    text = _JWT.sub("<jwt>", text)
    text = _AUTH_SCHEME.sub(_auth_scheme, text)
    text = _URL_PASSWORD.sub(r"\1:<redacted>@", text)
    text = _SECRET_FIELD.sub(r"\1\2<redacted>", text)
    text = _SECRET_PARAM.sub(r"\1=<redacted>", text)
    text = _SAS_PARAM.sub(r"\1\2=<redacted>", text)
    text = _SESSION_TOKEN.sub("<session-token>", text)
    text = _GOOGLE_TOKEN.sub("<token>", text)
    text = _GOOGLE_API_KEY.sub("<api-key>", text)
    text = _ACCESS_KEY.sub("<access-key>", text)
    return _BARE_SECRET.sub(_bare_secret, text)


def scrub(text: str) -> str:
    """One short line without account ids, credentials (see ``scrub_secrets``) or HTML
    markup."""
    if "<html" in text.lower() or "<!doctype" in text.lower():
        text = _TAGS.sub(" ", text)
    text = scrub_secrets(text)
    text = _ACCOUNT.sub("<account>", text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def describe_error(exc: BaseException) -> str:
    """A short, scrubbed description of an SDK or network error."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}) if isinstance(response, dict) else {}
    if code:
        message = f"{code.get('Code', type(exc).__name__)}: {code.get('Message', '')}".rstrip(": ")
    else:
        message = f"{type(exc).__name__}: {exc}"
    return scrub(message)


def run_tasks(
    tasks: Sequence[Task],
    *,
    workers: int,
    on_done: Callable[[TaskResult], None] | None = None,
    classify: Callable[[BaseException], str] = describe_error,
    check: Callable[[Task, TaskOutput], str | None] | None = None,
) -> list[TaskResult]:
    """Run tasks on ``workers`` threads; one result per task, in completion order.

    Parameters
    ----------
    tasks
        The work.
    workers
        Threads (at least 1).
    on_done
        Called in the calling thread after each task (for progress).
    classify
        Turns an exception into the one-line error of its task.
    check
        Called in the calling thread with each task that succeeded and its output; a
        line it returns fails the task with that error (``EarlierData.empty_error``).
    """
    results: list[TaskResult] = []

    def timed(task: Task) -> tuple[datetime, TaskOutput]:
        started = datetime.now(UTC)
        return started, task.work()

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: dict[Future[tuple[datetime, TaskOutput]], tuple[Task, float]] = {
            pool.submit(timed, task): (task, time.time()) for task in tasks
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task, submitted = pending.pop(future)
                finished = datetime.now(UTC)
                try:
                    started, output = future.result()
                    error = check(task, output) if check is not None else None
                    if error is None:
                        result = TaskResult(
                            task.source,
                            task.region,
                            started,
                            finished,
                            output.rows,
                            None,
                            output,
                            task.scope,
                        )
                    else:  # an empty answer where earlier data exists: nothing of it is kept
                        result = TaskResult(
                            task.source,
                            task.region,
                            started,
                            finished,
                            0,
                            error,
                            scope=task.scope,
                        )
                except Exception as exc:  # a failed task is reported, never fatal
                    started = datetime.fromtimestamp(submitted, tz=UTC)
                    result = TaskResult(
                        task.source,
                        task.region,
                        started,
                        finished,
                        0,
                        classify(exc),
                        scope=task.scope,
                    )
                results.append(result)
                if on_done is not None:
                    on_done(result)
    return results


@dataclass(frozen=True)
class CollectionReport:
    """What a collection did.

    Attributes
    ----------
    collection_id
        Id of this run in the store's collection log.
    results
        One per task (source and region), in completion order.
    written
        Batches written (empty for a dry run).
    offers
        Offers built from this run (rows).
    dry_run
        True when nothing was called.
    planned
        What each task would call (dry run).
    notes
        What a user should know about the data written, e.g. prices this run could not
        find that earlier data has (kept; see ``collect.gaps``).
    """

    collection_id: str
    results: tuple[TaskResult, ...]
    written: tuple[UpsertResult, ...]
    offers: int
    dry_run: bool = False
    planned: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[TaskResult, ...]:
        """Tasks that failed."""
        return tuple(r for r in self.results if not r.ok)

    @property
    def usable(self) -> bool:
        """True when at least one task brought data back."""
        return any(r.ok and r.rows for r in self.results) or self.offers > 0


def run_collection(
    store: Store,
    cloud: str,
    tasks: Sequence[Task],
    *,
    workers: int,
    finish: Callable[[list[TaskResult]], tuple[list[TaskResult], list[ImportBatch]]] | None = None,
    classify: Callable[[BaseException], str] = describe_error,
    on_done: Callable[[TaskResult], None] | None = None,
    dry_run: bool = False,
) -> CollectionReport:
    """Run a cloud's tasks, write everything that succeeded in one transaction, log it.

    Parameters
    ----------
    store
        Where to write.
    cloud
        aws, gcp or azure (for the collection log).
    tasks
        The work.
    workers
        Threads.
    finish
        Turns the results into their final form and adds batches built from several
        tasks (e.g. offers joining prices from different calls).
    classify, on_done
        See ``run_tasks``.
    dry_run
        Only describe the tasks.

    Notes
    -----
    One transaction at the end: an interrupted collection writes nothing and leaves
    earlier data intact; a re-run adds nothing twice. A task that comes back empty where
    the store or the snapshot holds data in its ``scope`` fails (``EarlierData``), so
    ``finish`` never builds offers from that empty answer.
    """
    collection_id = uuid.uuid4().hex[:12]
    if dry_run:
        return CollectionReport(collection_id, (), (), 0, True, tuple(t.describe for t in tasks))
    earlier = EarlierData(store)
    results = run_tasks(
        tasks, workers=workers, on_done=on_done, classify=classify, check=earlier.empty_error
    )
    extra: list[ImportBatch] = []
    if finish is not None:
        results, extra = finish(results)
    batches = [b for r in results if r.ok for b in r.output.batches] + extra
    notes = _price_gaps(store, batches)
    written = store.write(batches) if batches else []
    store.log_collection(
        [
            {
                "collection_id": collection_id,
                "cloud": cloud,
                "source": r.source,
                "region": r.region,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "rows": r.rows,
                "error": r.error,
            }
            for r in results
        ]
    )
    offers = sum(len(b.frame) for b in extra if b.table.name == "offers")
    return CollectionReport(
        collection_id, tuple(results), tuple(written), offers, notes=tuple(notes)
    )


def _price_gaps(store: Store, batches: Sequence[ImportBatch]) -> list[str]:
    """Offers about to be written without a price that the data read commands use prices."""
    import pandas as pd

    from spotadvisor.catalog import latest_offers
    from spotadvisor.collect.gaps import price_gaps
    from spotadvisor.schema import OFFERS
    from spotadvisor.sources import load_table

    frames = [b.frame for b in batches if b.table.name == OFFERS.name and not b.frame.empty]
    if not frames:
        return []
    known = latest_offers(load_table(store, OFFERS).frame)
    return price_gaps(pd.concat(frames, ignore_index=True), known)


class EarlierData:
    """What the store and the embedded snapshot hold, to tell an empty answer from a
    failure.

    Tables are read on first use (in the calling thread), once per collection.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._frames: dict[str, pd.DataFrame] = {}

    def frame(self, table: Table) -> pd.DataFrame:
        """Rows of ``table`` in the store and the snapshot (without it when it is absent)."""
        if table.name not in self._frames:
            import pandas as pd

            from spotadvisor.snapshot import read_snapshot_table

            frames = [self.store.read(table)]
            with contextlib.suppress(DataError):  # no snapshot: the store's rows only
                frames.append(read_snapshot_table(table))
            frames = [f for f in frames if not f.empty]
            self._frames[table.name] = (
                pd.concat(frames, ignore_index=True) if frames else self.store.read(table)
            )
        return self._frames[table.name]

    def held(self, scope: Scope) -> pd.DataFrame:
        """The rows of ``scope`` the store or the snapshot holds."""
        frame = self.frame(scope.table)
        if frame.empty:
            return frame
        keep = frame["source"].notna()
        cloud_column = "cloud" if "cloud" in frame.columns else "provider"
        if scope.cloud is not None and cloud_column in frame.columns:
            keep &= frame[cloud_column] == scope.cloud
        if scope.regions and "region" in frame.columns:
            keep &= frame["region"].isin(scope.regions)
        if scope.instance_types and "instance_type" in frame.columns:
            keep &= frame["instance_type"].isin(scope.instance_types)
        if scope.columns:
            known = frame[list(scope.columns)].notna().any(axis=1)
            keep &= known
        if scope.sources:
            keep &= frame["source"].astype(str).str.startswith(scope.sources)
        return frame.loc[keep]

    def empty_error(self, task: Task, output: TaskOutput) -> str | None:
        """The error of a task that brought nothing back where earlier data exists, else
        None."""
        if task.scope is None or output.rows:
            return None
        held = self.held(task.scope)
        if held.empty:
            return None
        newest = held.sort_values("as_of").iloc[-1]
        where = f" in {task.region}" if task.region in task.scope.regions else ""
        return scrub(
            f"{output.answer or 'nothing came back'}{where}; earlier data kept: {len(held)} "
            f"{task.scope.what} ({newest['source']}, {newest['as_of']:%Y-%m-%d})"
        )
