"""Escaping text that came from users for Markdown and for GitHub workflow commands.

Tag values, resource ids, pool and team names, file names, currencies and notes end up
in Markdown (``report --format markdown``, the gate's pull-request comment) and in
GitHub Actions annotations (``gate --format github``). Every such string goes through
:func:`markdown_text` or :func:`annotation_property` / :func:`annotation_message`, and
only text spotadvisor writes itself is left as it is.

:func:`markdown_text` makes a string inline text that renders as itself in
GitHub-flavoured Markdown, in a table cell or a sentence:

* line breaks (LF, CR, CRLF, VT, FF, NEL, U+2028/9) become spaces and other control
  characters are dropped, so a value cannot end the line it is on and start a heading,
  a list, a quote or a new table row (``\\n# injected``);
* ``\\`` `` ` `` ``*`` ``[`` ``]`` ``|`` ``~`` get a backslash: no code spans, emphasis,
  strikethrough, links or images (``[x](javascript:...)``, ``![](https://evil/x.png)``
  lose their brackets), no extra table cells (``a|b``); ``_`` gets one where it could
  start or end emphasis (not inside a word: ``spot_price_floor`` stays as it is);
* ``&`` before a letter, digit or ``#`` becomes ``&amp;`` (no entities) and ``<`` before
  a letter, ``/``, ``!`` or ``?`` becomes ``&lt;`` (no raw HTML: ``<script>``,
  ``<img onerror=...>``, comments, autolinks ``<https://...>``); a ``<`` before a digit
  or a space (``<5%``) cannot start either and is left alone;
* ``javascript:`` and ``vbscript:`` (any case) lose their colon (``&#58;``, which
  renders as ``:``), so no renderer that links bare schemes makes them a link.

``(`` ``)`` ``!`` ``#`` ``+`` ``-`` ``>`` ``.`` are left alone: with the above they
cannot start a link, an image or HTML, and block syntax (headings, lists, quotes) only
counts at the start of a line, where escaped text never is: callers put it after their
own text (``| `` of a cell, ``- `` of a list item, ``### By tag ``).

The annotation functions follow GitHub's ``@actions/core`` (``toCommandValue`` /
``escapeData`` / ``escapeProperty``): in ``::error file=F,title=T::MESSAGE`` the message
escapes ``%`` ``\\r`` ``\\n`` and the properties escape those and ``:`` and ``,``.
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile("\r\n|[\n\r\v\f\x85\u2028\u2029]")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_BACKSLASHED = re.compile(r"([\\`*\[\]|~])")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_ENTITY = re.compile(r"&(?=[A-Za-z0-9#])")
_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_SCHEME = re.compile(r"\b(java|vb)(script):", re.IGNORECASE)


def markdown_text(text: object) -> str:
    """``text`` as inline GitHub-flavoured Markdown that renders as itself.

    Never starts a block: the result has no line breaks. Put it after other text on a
    line (a table cell, a list item, a heading), never at the start of one.
    """
    out = _LINE_BREAKS.sub(" ", str(text)).replace("\t", " ")
    out = _CONTROLS.sub("", out)
    out = _BACKSLASHED.sub(r"\\\1", out)
    out = _UNDERSCORE.sub(r"\\_", out)
    out = _ENTITY.sub("&amp;", out)
    out = _TAG.sub("&lt;", out)
    return _SCHEME.sub(r"\1\2&#58;", out)


def annotation_message(text: object) -> str:
    """``text`` as the message of a GitHub workflow command (after the final ``::``)."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotation_property(text: object) -> str:
    """``text`` as a property value of a workflow command (``file=``, ``title=``)."""
    return annotation_message(text).replace(":", "%3A").replace(",", "%2C")
