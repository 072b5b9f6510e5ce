"""The reports folder on disk: one lock per report and period, atomic swaps, stale leftovers.

- **Locks**: a run of report ``NAME`` for run folder ``SLUG`` holds an exclusive
  ``flock`` on ``reports/.locks/NAME__<hash of SLUG>.lock`` from before it executes
  until its folder is in place, so a second run of the same report and period
  waits or is refused up front (:class:`ReportBusy`) instead of failing after
  executing. Locks are released by the kernel when a process dies, even by SIGKILL.
- **Atomic swap**: the finished run folder replaces the last one with one
  ``renameat2(RENAME_EXCHANGE)`` (Linux; ``renamex_np(RENAME_SWAP)`` on macOS), so at
  every instant the destination holds either the old complete report or the new
  one. Where the exchange is not available it falls back to two renames, and a
  crash between them is repaired by the next run (:func:`clean_stale` puts the old
  folder back).
- **Leftovers**: ``.SLUG.tmp-*`` (a run killed while executing) and ``.SLUG.old-*``
  (one killed while swapping) are removed by the next run of that report, only when
  no live run holds their lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "LOCKS_DIR",
    "ReportBusy",
    "clean_stale",
    "exchange",
    "lock_path",
    "locked",
    "new_temp_dir",
    "swap_in",
]

#: Folder of the lock files, inside the reports folder.
LOCKS_DIR = ".locks"

_LEFTOVER = re.compile(r"^\.(?P<target>.+)\.(?P<kind>tmp|old)-[0-9a-f]{8}$")


class ReportBusy(RuntimeError):
    """Another process holds the lock (a run of the same report and period, or a scheduler)."""


# ---------------------------------------------------------------------- locks
def lock_path(root: Path, key: str) -> Path:
    """The lock file of ``key`` (``NAME/SLUG``, ``index``, ``due``) in reports folder ``root``."""
    name, _, rest = key.partition("/")
    tail = f"__{hashlib.sha256(rest.encode('utf-8')).hexdigest()[:16]}" if rest else ""
    return root / LOCKS_DIR / f"{name}{tail}.lock"


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = False, what: str = "") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    Parameters
    ----------
    path
        The lock file; never deleted (deleting a lock file races with its next user).
    wait
        Block until the lock is free; otherwise raise :class:`ReportBusy` at once.
    what
        What the lock protects, for the error message.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _lock(fd, wait=wait):
            raise ReportBusy(
                f"{what or path.stem} is already running in another process "
                f"(it holds {path}); try again when it has finished"
            )
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def is_free(path: Path) -> bool:
    """Whether nobody holds the lock ``path`` right now (a missing file is free)."""
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        if _lock(fd, wait=False):
            _unlock(fd)
            return True
        return False
    finally:
        os.close(fd)


if os.name == "posix":
    import fcntl

    def _lock(fd: int, *, wait: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

else:  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd: int, *, wait: bool) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


# ---------------------------------------------------------------------- swapping
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:  # pragma: no cover
        return None


_LIBC = _libc()
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS stdio.h


def exchange(a: Path, b: Path) -> bool:
    """Swap the two existing paths ``a`` and ``b`` in one atomic step.

    Returns ``False`` (and changes nothing) when the platform or file system has no
    atomic exchange; raises ``OSError`` on any other failure.
    """
    if _LIBC is None:
        return False
    fa, fb = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux") and hasattr(_LIBC, "renameat2"):
        rc = _LIBC.renameat2(_AT_FDCWD, fa, _AT_FDCWD, fb, _RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(_LIBC, "renamex_np"):  # pragma: no cover
        rc = _LIBC.renamex_np(fa, fb, _RENAME_SWAP)
    else:  # pragma: no cover
        return False
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def new_temp_dir(final: Path) -> Path:
    """A fresh hidden folder next to ``final`` to build a run in (``.SLUG.tmp-xxxxxxxx``)."""
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    return tmp


def swap_in(tmp: Path, final: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``final`` (the old one is removed).

    Atomic where :func:`exchange` is available; otherwise two renames, with the old
    folder kept aside as ``.NAME.old-*`` until the new one is in place.
    """
    if not final.exists() and not final.is_symlink():
        os.rename(tmp, final)
        return
    if exchange(tmp, final):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous report
        return
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def clean_stale(report_dir: Path, root: Path, *, held: str | None = None) -> list[Path]:
    """Remove the leftovers of killed runs in ``report_dir`` (one report's folder).

    A ``.TARGET.tmp-*`` folder is deleted; a ``.TARGET.old-*`` folder is put back as
    ``TARGET`` when that is missing (a swap interrupted between its two renames),
    else deleted. Only leftovers whose run lock is free are touched; ``held`` names
    the run folder whose lock the caller holds itself.

    Returns
    -------
    list of Path
        The leftovers handled.
    """
    if not report_dir.is_dir():
        return []
    done = []
    name = report_dir.name
    for entry in sorted(report_dir.iterdir()):
        m = _LEFTOVER.match(entry.name)
        if m is None or not entry.is_dir():
            continue
        target = m.group("target")
        slug = target.removesuffix(".failed")
        if slug != held and not is_free(lock_path(root, f"{name}/{slug}")):
            continue  # a live run is using it
        final = report_dir / target
        if m.group("kind") == "old" and not final.exists():
            os.rename(entry, final)
        else:
            shutil.rmtree(entry, ignore_errors=True)
        done.append(entry)
    return done
