"""Saved models: a folder with ``model.json`` and the engine's own text files.

``model.json`` holds a model's ``to_dict()`` (settings, encoder, calibrator,
coefficients, card figures) and the list of its extra files (LightGBM's text model
``booster.txt``). Nothing is pickled, so reading a model file cannot run code. The
model class checks the ``kind`` and format version when it rebuilds itself
(``ScoringModel.load``); this module only reads and writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MAX_FILE_BYTES", "META_FILE", "read_model", "write_model"]

#: Name of the metadata file of a saved model.
META_FILE = "model.json"
#: Largest file read back (a LightGBM model of a few thousand trees is far smaller).
MAX_FILE_BYTES = 512 * 1024 * 1024
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def _check_name(name: str) -> str:
    if not _FILE_NAME.match(name) or ".." in name or name == META_FILE:
        raise ValueError(f"unsafe model file name {name!r}")
    return name


def write_model(path: str | Path, meta: Mapping[str, Any], files: Mapping[str, str]) -> Path:
    """Write ``meta`` as ``model.json`` and each of ``files`` into the folder ``path``."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(_check_name(n) for n in files)
    for name in names:
        (folder / name).write_text(files[name], encoding="utf-8")
    doc = {**meta, "files": names}
    (folder / META_FILE).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def _read(p: Path) -> str:
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{p} is {size:,} bytes; a saved model file is at most {MAX_FILE_BYTES:,}")
    return p.read_text(encoding="utf-8")


def read_model(path: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a folder written by :func:`write_model`: ``(meta, files)``.

    Raises
    ------
    FileNotFoundError
        When the folder holds no ``model.json`` or lacks a file it lists.
    ValueError
        When ``model.json`` is not a JSON object or lists an unsafe file name.
    """
    folder = Path(path)
    meta_path = folder / META_FILE
    if not meta_path.exists():
        raise FileNotFoundError(f"{folder} holds no {META_FILE}: not a saved salesml model")
    try:
        meta = json.loads(_read(meta_path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{meta_path} is not valid JSON: {e}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path} must hold a JSON object")
    files: dict[str, str] = {}
    for name in meta.pop("files", []) or []:
        p = folder / _check_name(str(name))
        if not p.exists():
            raise FileNotFoundError(f"{folder} lacks {name}, which {META_FILE} lists")
        files[str(name)] = _read(p)
    return meta, files
