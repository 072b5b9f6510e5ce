"""Which allocator Arrow uses for the buffers a load reads (a process-wide setting).

A validated load of a big dataset reads many pieces, each freed once it is parsed and
checked, while the parsed rows stay. With pyarrow's default allocator (mimalloc) the
freed pieces' memory is largely kept by the process; with jemalloc it is returned
sooner, which lowers the peak of a tier-M compact load from about 0.93 to 0.63 GB
(``bench/README.md``, "Scale: loading"). The ``salesml`` command selects jemalloc
itself (:func:`prefer_jemalloc`); a program or notebook using the library sets
``ARROW_DEFAULT_MEMORY_POOL=jemalloc`` in the environment before starting Python, or
calls :func:`prefer_jemalloc` before loading.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os

__all__ = ["ENV_VAR", "prefer_jemalloc", "release_unused_memory"]

#: Arrow's own environment variable naming its default allocator.
ENV_VAR = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_jemalloc() -> str:
    """Make jemalloc Arrow's allocator when pyarrow has it and the user chose none.

    A pool named in ``ARROW_DEFAULT_MEMORY_POOL`` is left as it is.

    Returns
    -------
    str
        The name of the allocator in use afterwards (``jemalloc``, ``mimalloc``,
        ``system``).
    """
    import pyarrow as pa

    if not os.environ.get(ENV_VAR):
        # a pyarrow built without jemalloc keeps its default
        with contextlib.suppress(NotImplementedError, pa.ArrowNotImplementedError):
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return pa.default_memory_pool().backend_name


@functools.cache
def _malloc_trim() -> object | None:
    """glibc's ``malloc_trim`` (``None`` on another C library)."""
    name = ctypes.util.find_library("c")
    if name is None:  # pragma: no cover - no C library found
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - musl, macOS, Windows
        return None


def release_unused_memory() -> None:
    """Hand memory already freed back to the system: Arrow's pool's and the C heap's.

    A streamed load frees each piece's temporaries while the parsed rows stay; the
    numpy arrays live on the C heap, where glibc keeps freed blocks between live ones
    mapped, so the resident size keeps the freed pieces and the next step's
    temporaries come on top of them. Called between the load's steps; a few
    milliseconds each.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
