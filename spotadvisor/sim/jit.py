"""Compiled code for the engine: numba, cached in the user's cache folder.

numba turns the engine's kernels (``kernel*.py``) into machine code the first time they
run, which takes a while, and caches the result so that only the very first run on a
machine pays for it. The cache lives in ``<user cache>/spotadvisor/numba/<key>``; the
key hashes the kernels' source with numba's and Python's versions, because numba's own
freshness check looks only at the file a function is defined in and would serve a
caller whose helper in another file has changed from a stale cache.

:func:`ensure_compiled` loads (or compiles) the kernels once per process and says so on
standard error when it has to compile.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

KERNEL_SOURCES = (
    "kernel.py",
    "kernel_cycle.py",
    "kernel_draws.py",
    "kernel_events.py",
    "kernel_inputs.py",
    "kernel_strikes.py",
    "kernel_sweep.py",
)
# also hashed: the constants the kernels import, and how they are compiled
KEYED_SOURCES = (*KERNEL_SOURCES, "model.py", "jit.py")
_COMPILED_MARK = "compiled"  # written once the kernels of this key are in the cache
STALE_DAYS = 30  # cached kernels of other versions unused this long are removed

_warm_up_lock = threading.Lock()
_warmed_up = threading.Event()  # set once the kernels are loaded in this process


def _key() -> str:
    """Hash of the kernels' source and the toolchain that compiles them."""
    import numba
    import numpy

    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in KEYED_SOURCES:
        digest.update((here / name).read_bytes())
    digest.update(f"{numba.__version__} {numpy.__version__} {sys.version}".encode())
    return digest.hexdigest()[:16]


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


@functools.cache
def cache_dir() -> Path | None:
    """Folder of the compiled kernels, or None when no folder can be written."""
    from platformdirs import user_cache_dir

    key = _key()
    user = Path(user_cache_dir("spotadvisor")) / "numba" / key
    owner = str(os.getuid()) if hasattr(os, "getuid") else "user"
    shared_tmp = Path(tempfile.gettempdir()) / f"spotadvisor-numba-{owner}" / key
    return next((p for p in (user, shared_tmp) if _writable(p)), None)


def jit(func: F) -> F:
    """Compile ``func`` with numba (no Python objects, GIL released, cached on disk).

    ``error_model="numpy"``: a division by zero gives inf or nan as in NumPy instead of
    raising, which also spares the check on every division.
    """
    return _compile(func, reference_counting=True)


def jit_noalloc(func: F) -> F:
    """As :func:`jit`, without numba's reference counting: ``func`` may not create arrays.

    For the functions of the inner loop. With reference counting on, every call
    increments and decrements the count of each array it is passed, atomically, which
    costs more than the work of a small function (10x on the dense benchmark).
    """
    return _compile(func, reference_counting=False)


def jit_inline(func: F) -> F:
    """As :func:`jit_noalloc`, inlined into its callers, which must be ``jit_noalloc`` too.

    numba inlines the function's code (not only LLVM's heuristics), so the tuples of
    arrays the inner loop passes around are not copied on every call. In a caller
    with reference counting the inlined code would count references again.
    """
    return _compile(func, reference_counting=False, inline=True)


def _compile(func: F, *, reference_counting: bool, inline: bool = False) -> F:
    import numba
    from numba.core import config

    folder = cache_dir()
    previous = getattr(config, "CACHE_DIR", "")
    # numba reads the folder when the function is decorated; set it for ours only
    setattr(config, "CACHE_DIR", str(folder) if folder is not None else previous)  # noqa: B010
    try:
        options: dict[str, Any] = {
            "cache": folder is not None,
            "nogil": True,
            "error_model": "numpy",
            "inline": "always" if inline else "never",
        }
        compiled = None
        if not reference_counting:
            try:  # numba's own switch (TargetOptions._nrt); slower but right without it
                compiled = numba.njit(**{**options, "_nrt": False})(func)
            except (KeyError, TypeError, ValueError):
                compiled = None
        if compiled is None:
            compiled = numba.njit(**options)(func)
    finally:
        setattr(config, "CACHE_DIR", previous)  # noqa: B010
    return cast(F, compiled)


def ensure_compiled(warm_up: Callable[[], None]) -> None:
    """Run ``warm_up`` (a tiny simulation) once per process, announcing a first compile.

    The note goes to standard error before the wait and again with the time it took;
    later runs load the machine code from the cache without a word.
    """
    if _warmed_up.is_set():
        return
    with _warm_up_lock:
        if not _warmed_up.is_set():
            _warm_up_announced(warm_up)
            _warmed_up.set()


def _warm_up_announced(warm_up: Callable[[], None]) -> None:
    folder = cache_dir()
    mark = folder / _COMPILED_MARK if folder is not None else None
    announce = mark is None or not mark.exists()
    if announce:
        where = f"cached in {folder}" if folder is not None else "no writable cache folder"
        print(
            f"spotadvisor: compiling the risk engine for this machine "
            f"(first run only, under a minute; {where})",
            file=sys.stderr,
            flush=True,
        )
    start = time.perf_counter()
    warm_up()
    if announce:
        print(
            f"spotadvisor: risk engine compiled in {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    if mark is not None:
        mark.touch()  # its age tells which cached versions are still in use
        _prune_stale(mark.parent)


def _prune_stale(current: Path) -> None:
    """Remove the kernels of other versions not used for ``STALE_DAYS`` (best effort)."""
    cutoff = time.time() - STALE_DAYS * 86400
    for other in current.parent.iterdir():
        mark = other / _COMPILED_MARK
        try:
            last_used = (mark if mark.exists() else other).stat().st_mtime
        except OSError:
            continue
        if other != current and last_used < cutoff:
            shutil.rmtree(other, ignore_errors=True)
