"""Run collection tasks in parallel and report what each brought back or why it failed.

A task is one source in one region (``spot-prices`` in ``us-east-1``). Tasks run in a
bounded thread pool (SDK calls spend their time waiting on the network); a task that
fails costs only itself. Nothing here writes: the collector writes everything that
succeeded in one transaction at the end. Error texts are scrubbed of account ids,
access keys and signatures.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from spotadvisor.importers.base import ImportBatch
from spotadvisor.store import Store, UpsertResult


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
    """

    batches: list[ImportBatch] = field(default_factory=list)
    data: object = None

    @property
    def rows(self) -> int:
        """Rows brought back: in the batches, and in ``data`` when it has a length."""
        extra = len(self.data) if hasattr(self.data, "__len__") else 0
        return sum(len(b.frame) for b in self.batches) + extra


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
    """

    source: str
    region: str | None
    work: Callable[[], TaskOutput]
    describe: str = ""


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
    """

    source: str
    region: str | None
    started_at: datetime
    finished_at: datetime
    rows: int
    error: str | None
    output: TaskOutput = field(default_factory=TaskOutput, repr=False)

    @property
    def ok(self) -> bool:
        """True when the task succeeded."""
        return self.error is None


_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")
_SIGNATURE = re.compile(r"(?i)(signature|credential|x-amz-security-token)=[^\s&,]+")


_TAGS = re.compile(r"<[^>]+>")
MAX_ERROR_CHARS = 200


def scrub(text: str) -> str:
    """One short line without account ids, access keys, signatures or HTML markup."""
    if "<html" in text.lower() or "<!doctype" in text.lower():
        text = _TAGS.sub(" ", text)
    text = _ACCOUNT.sub("<account>", text)
    text = _ACCESS_KEY.sub("<access-key>", text)
    text = _SIGNATURE.sub(r"\1=<redacted>", text)
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
                    result = TaskResult(
                        task.source, task.region, started, finished, output.rows, None, output
                    )
                except Exception as exc:  # a failed task is reported, never fatal
                    started = datetime.fromtimestamp(submitted, tz=UTC)
                    result = TaskResult(
                        task.source, task.region, started, finished, 0, classify(exc)
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
    earlier data intact; a re-run adds nothing twice.
    """
    collection_id = uuid.uuid4().hex[:12]
    if dry_run:
        return CollectionReport(collection_id, (), (), 0, True, tuple(t.describe for t in tasks))
    results = run_tasks(tasks, workers=workers, on_done=on_done, classify=classify)
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
