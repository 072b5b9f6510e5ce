"""State base class of the Voila apps: busy flag, error text, timing. No widget imports."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from traitlets import Bool, Enum, Float, HasTraits, Unicode

if TYPE_CHECKING:
    from salesml.data.bundle import SalesData

__all__ = ["AppState", "dataset_path", "load_app_data", "viewer_error"]

log = logging.getLogger(__name__)

#: Environment variable ``salesml serve --data`` sets for the app kernels.
DATASET_ENV = "SALESML_DATASET"


def dataset_path(dataset: str | os.PathLike[str] | None = None) -> Path:
    """The dataset folder an app opens.

    ``dataset`` when given, else ``$SALESML_DATASET`` (set by ``salesml serve``),
    else ``datasets/demo``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist (with a hint to run ``salesml demo``).
    """
    p = Path(dataset or os.environ.get(DATASET_ENV) or "datasets/demo").expanduser()
    if not p.exists():
        raise FileNotFoundError(
            f"dataset folder {str(p)!r} not found; run `salesml demo` to generate the demo "
            f"data, or start the apps with `salesml serve --data PATH`"
        )
    return p.resolve()


def load_app_data(
    dataset: str | os.PathLike[str] | None,
    tables: Iterable[str] = (),
    *,
    compact: bool = False,
    columns: Mapping[str, Iterable[str]] | None = None,
) -> SalesData:
    """Load the tables an app reads (those present) from :func:`dataset_path` ``(dataset)``.

    ``tables`` empty loads every table. Loading only what the app reads keeps the
    first render fast on large datasets (millions of activities the app never uses);
    ``compact`` and ``columns`` are passed to :func:`~salesml.data.io.load_dataset`
    (category ids, column projection) to keep a big dataset's kernel small.
    """
    from salesml.data.config import DatasetConfig
    from salesml.data.io import find_table_files, load_dataset

    path = dataset_path(dataset)
    wanted = None
    if tables:
        present = find_table_files(path, DatasetConfig.read(path))
        wanted = [t for t in tables if t in present]
    data = load_dataset(path, progress=False, tables=wanted, compact=compact, columns=columns)
    return data


#: A filesystem path in a message: absolute POSIX, Windows or home-relative, up to
#: a quote, space or bracket (not the ``//`` of a URL).
_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:[\\/]|~?/)[^\s'\"<>()\[\]]*")


def viewer_error(error: BaseException) -> str:
    """The text an app shows a viewer for ``error``: its kind and message, paths cut.

    The viewer of a dashboard is not the person who runs the server: folders of the
    server (``/srv/crm/datasets/...``) are cut to their last part, so a message
    still says which file (``deals.parquet``) without showing where it lives. The
    full message is in the server log (:meth:`AppState.computing` logs it).
    """

    def cut(m: re.Match[str]) -> str:
        tail = re.split(r"[\\/]", m.group(0).rstrip("/\\"))[-1]
        return f"…/{tail}" if tail else "…"

    return _PATH.sub(cut, f"{type(error).__name__}: {error}")


class AppState(HasTraits):
    """Base of every app state: what the view shows besides the results.

    Subclasses hold their controls and results as traits, recompute in an
    ``@observe`` handler wrapped in :meth:`computing`, and import no widgets, so
    they are tested without a browser.

    Attributes
    ----------
    busy
        True while a recomputation runs (the view shows a busy indicator).
    error
        Text of the last error ("" when the last recomputation succeeded); the view
        shows it in an error box, and the controls stay usable.
    last_seconds
        Wall time of the last recomputation.
    lang
        Display language (``en`` or ``zh``).
    """

    busy = Bool(False)
    error = Unicode("")
    last_seconds = Float(0.0)
    lang = Enum(["en", "zh"], default_value="en")

    @contextmanager
    def computing(self) -> Iterator[None]:
        """Mark the state busy for the block; turn an exception into ``error`` text."""
        self.busy = True
        t0 = time.perf_counter()
        try:
            yield
        except Exception as e:  # shown in the app instead of killing the widget
            log.exception("recomputation failed")
            self.error = viewer_error(e)
        else:
            self.error = ""
        finally:
            self.last_seconds = time.perf_counter() - t0
            self.busy = False
