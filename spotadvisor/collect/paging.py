"""Guards for paginated calls: a page cap and repeated-token detection.

Every paginated call of the collectors follows next-page tokens (``NextToken``,
``nextPageToken``, ``NextPageLink``, ``$skipToken``, ``nextLink``...) through a
``PageGuard``: a token seen before means the endpoint is sending the same pages again (a
paging loop that would never end), and a listing longer than the call's cap is treated
the same way. Either raises ``PagingError``, which fails the task (nothing from that
call is kept, earlier data stays). The caps are named constants next to each call, each
with a comment saying why that number. The SDK pagers that hide their tokens (boto3
paginators, google-api-core pagers, BigQuery row iterators, azure-core ``ItemPaged``)
are iterated page by page so that the guard sees every token. Nothing here calls a
network.
"""

from __future__ import annotations

from spotadvisor.collect.run import scrub
from spotadvisor.errors import DataError

TOKEN_SHOWN_CHARS = 24  # of a repeated token, in the error: enough to tell two apart


class PagingError(DataError):
    """A paginated call that did not end: a repeated next-page token or too many pages."""


def shown_token(token: str) -> str:
    """``token`` scrubbed of secrets, then cut to ``TOKEN_SHOWN_CHARS``, for an error."""
    clean = scrub(token)
    return clean if len(clean) <= TOKEN_SHOWN_CHARS else clean[: TOKEN_SHOWN_CHARS - 1] + "…"


class PageGuard:
    """Counts the pages of one paginated call and remembers their next-page tokens.

    Parameters
    ----------
    call
        The call, as errors name it (``ec2.describe_spot_price_history``).
    max_pages
        The most pages the call may take; a next page after that is an error.

    Examples
    --------
    >>> guard = PageGuard("list", max_pages=10)
    >>> guard.next("a"), guard.next("b"), guard.next(None), guard.pages
    ('a', 'b', None, 3)
    """

    def __init__(self, call: str, max_pages: int) -> None:
        self.call = call
        self.max_pages = max_pages
        self.pages = 0
        self._seen: set[str] = set()

    def next(self, token: object) -> str | None:
        """Count one page whose next-page token is ``token``; the token to follow.

        Returns None when the listing is over (no token, or an empty one).

        Raises
        ------
        PagingError
            When ``token`` came with an earlier page, or the cap is reached with a next
            page still to come.
        """
        self.pages += 1
        if token is None or token == "":
            return None
        text = str(token)
        if text in self._seen:
            raise PagingError(
                f"{self.call} sent the next-page token {shown_token(text)!r} again after "
                f"{self.pages} pages: a paging loop",
                fix="nothing from this call is kept; retry later",
            )
        if self.pages >= self.max_pages:
            raise PagingError(
                f"{self.call} still had a next page after {self.pages} pages (the cap)",
                fix="nothing from this call is kept; narrow the request or retry later",
            )
        self._seen.add(text)
        return text
