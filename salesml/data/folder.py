"""What a dataset folder holds, found and described without loading it.

The table files of a folder (``find_table_files``: one file, a part folder or a
month-partitioned folder per table, each confined to the folder), its one fingerprint
(``folder_fingerprint``) and a cheap description of its files (``describe_files``).
:mod:`salesml.data.io` reads and writes what these find.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pandas as pd

from salesml.data.config import DatasetConfig
from salesml.data.csvfile import sniff_delimiter
from salesml.data.errors import DatasetError
from salesml.data.quarantine import QUARANTINE_FILE
from salesml.data.schema import TABLE_NAMES

__all__ = [
    "TEXT_SUFFIXES",
    "dataset_folder",
    "describe_files",
    "find_table_files",
    "folder_fingerprint",
    "inside_folder",
    "table_parts",
    "text_header",
]

#: File name endings read as delimited text.
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def inside_folder(folder: Path, p: Path, what: str) -> Path:
    """``p``, refusing a path that resolves outside the dataset folder."""
    root = folder.resolve()
    try:
        real = p.resolve()
    except (OSError, RuntimeError):
        raise DatasetError(f"{what}: {p} cannot be resolved (a symlink loop?)") from None
    if not real.is_relative_to(root):
        raise DatasetError(
            f"{what}: {p.relative_to(folder) if p.is_relative_to(folder) else p} leads "
            f"outside the dataset folder {folder} (to {real}); table files must be inside it"
        )
    return p


def find_table_files(path: str | Path, config: DatasetConfig | None = None) -> dict[str, Path]:
    """Table name -> file (or Parquet folder) present in dataset folder ``path``.

    Raises
    ------
    DatasetError
        When ``path`` is not a folder, or a table file (named in ``dataset.yaml``
        ``files`` or found by name) resolves outside the folder.
    FileNotFoundError
        When a file named in ``files`` does not exist.
    """
    folder = dataset_folder(path)
    config = config or DatasetConfig()
    out: dict[str, Path] = {}
    for name in TABLE_NAMES:
        if name in config.files:
            rel = Path(config.files[name])
            what = f"dataset.yaml files: {name}"
            if rel.is_absolute() or ".." in rel.parts:
                raise DatasetError(
                    f"{what}: {config.files[name]} is not a file name inside the dataset "
                    "folder (absolute paths and .. are refused)"
                )
            p = inside_folder(folder, folder / rel, what)
            if not p.exists():
                raise FileNotFoundError(
                    f"dataset.yaml names {config.files[name]} for table {name}, "
                    f"but {p} does not exist"
                )
            out[name] = p
            continue
        for cand in (folder / f"{name}.parquet", folder / f"{name}.csv", folder / name):
            if cand.is_file() or (cand.is_dir() and any(cand.rglob("*.parquet"))):
                out[name] = inside_folder(folder, cand, f"table {name}")
                break
    return out


def folder_fingerprint(path: str | Path) -> str:
    """A short stable hash of a dataset folder: ``dataset.yaml``, every table file, the quarantine.

    Every file :func:`load_dataset` can read is hashed (name, size and bytes), whichever
    tables a caller loads, so every report, model card and dataset card made from one
    folder shows the same fingerprint, and it changes when any of those files changes.
    Cost: one sequential read of the files (no parsing).

    Parameters
    ----------
    path
        The dataset folder.

    Returns
    -------
    str
        16 hexadecimal digits.
    """
    folder = dataset_folder(path)
    config = DatasetConfig.read(folder) if (folder / "dataset.yaml").is_file() else None
    files: list[Path] = []
    if (folder / "dataset.yaml").is_file():
        files.append(folder / "dataset.yaml")
    for name, p in sorted(find_table_files(folder, config).items()):
        files.extend(table_parts(p, folder, name))
    if (folder / QUARANTINE_FILE).is_file():
        files.append(folder / QUARANTINE_FILE)
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(folder).as_posix().encode())
        h.update(str(f.stat().st_size).encode())
        with f.open("rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()[:16]


def dataset_folder(path: str | Path) -> Path:
    folder = Path(path)
    if folder.is_file():
        raise NotADirectoryError(
            f"{folder} is a file, not a dataset folder: pass the folder that holds "
            "dataset.yaml and one file per table"
        )
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a dataset folder (expected a directory)")
    return folder


def table_parts(p: Path, folder: Path, name: str) -> list[Path]:
    """The Parquet files of a table file, part folder or month-partitioned folder.

    Sorted by path inside the table folder (``month=2026-01/part-0.parquet`` before
    ``month=2026-02/...``), each checked to be inside the dataset folder.
    """
    what = f"table {name}"
    if not p.is_dir():
        return [inside_folder(folder, p, what)]
    # each folder is resolved once (tier L: 3,706 part files in 24 month folders), a
    # part that is itself a symlink on its own; a symlinked folder is followed (when it
    # stays inside the dataset folder), each real folder once
    parts: list[Path] = []
    seen: set[Path] = set()
    for here, subdirs, names in os.walk(p, followlinks=True):
        d = Path(here)
        inside_folder(folder, d, what)
        real = d.resolve()
        if real in seen:  # a second way into a folder already read (or a loop)
            subdirs[:] = []
            continue
        seen.add(real)
        for f in names:
            if f.endswith(".parquet"):
                x = d / f
                if x.is_symlink():
                    inside_folder(folder, x, what)
                parts.append(x)
    return sorted(parts, key=lambda x: x.relative_to(p).as_posix())


def text_header(p: Path) -> tuple[str, int]:
    """The header line of a text file and its number of data lines, cheaply (no full decode)."""
    with p.open("rb") as f:
        head = f.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        with p.open(encoding="utf-16", errors="replace", newline="") as f:
            header = f.readline()
            n = sum(block.count("\n") for block in iter(lambda: f.read(1 << 22), ""))
        return header, n
    with p.open("rb") as f:
        raw = f.readline()
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
    try:
        header = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        header = raw.decode("gb18030", errors="replace")
    return header, n


def describe_files(path: str | Path) -> pd.DataFrame:
    """What a dataset folder holds, without loading it (fast even for millions of rows).

    Parquet row and column counts come from the file footers; CSV rows are counted
    as newline bytes minus the header (a cell spanning lines counts once per line)
    and the encoding is not checked (loading does that).

    Returns
    -------
    pandas.DataFrame
        Index ``table``; columns ``file``, ``format``, ``rows``, ``columns``, ``mb``.
    """
    import pyarrow.parquet as pq

    folder = dataset_folder(path)
    config = DatasetConfig.read(folder)
    rows = []
    for name, p in find_table_files(folder, config).items():
        if p.suffix.lower() in TEXT_SUFFIXES:
            header, n = text_header(p)
            delim = config.extra.get("delimiter")
            if delim is None:
                delim = sniff_delimiter(header)
            cols = len(next(csv.reader([header], delimiter=delim), []))
            size = p.stat().st_size
            fmt = p.suffix.lower().lstrip(".")
        else:
            parts = table_parts(p, folder, name)
            metas = [pq.ParquetFile(x).metadata for x in parts]
            n = sum(m.num_rows for m in metas)
            cols = metas[0].num_columns if metas else 0
            size = sum(x.stat().st_size for x in parts)
            fmt = "parquet" + (f" ({len(parts)} parts)" if p.is_dir() else "")
        rows.append(
            {
                "table": name,
                "file": p.name + ("/" if p.is_dir() else ""),
                "format": fmt,
                "rows": n,
                "columns": cols,
                "mb": round(size / 2**20, 1),
            }
        )
    return pd.DataFrame(rows).set_index("table")
