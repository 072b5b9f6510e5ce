"""The one YAML loader of salesml, bounded for files a user hands in.

``dataset.yaml``, mapping files, cost-allocation rules, signal rules and action
lists are all read through :func:`load_yaml`. On top of PyYAML's safe loader it
refuses what plain settings never need and an attacker would use:

- anchors and aliases (``&a`` / ``*a``): a "billion laughs" file of a few hundred
  bytes expands to gigabytes once its aliases are followed;
- tags other than the standard plain ones (``!!python/object/apply:...``, ``!foo``);
- files above :data:`MAX_BYTES` and nesting deeper than :data:`MAX_DEPTH`.

Every failure is a :class:`YamlError` (a ``ValueError``) with one line naming the
file, the line and column, and what to change; never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from salesml.data.errors import DatasetError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "YamlError", "load_yaml"]

#: Largest YAML file accepted (settings and rules are a few kilobytes).
MAX_BYTES = 1 << 20
#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH = 32

_PLAIN_TAGS = frozenset(
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)


class YamlError(DatasetError):
    """A YAML file cannot be used; the message names the file, line and column."""


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors, aliases or custom tags, depth-capped."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                f"alias *{event.anchor} is not allowed (write the value out instead)",
                event.start_mark,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(
                f"anchor &{anchor} is not allowed (anchors and aliases are refused)",
                event.start_mark,
            )
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!" and tag not in _PLAIN_TAGS:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            raise _Refused(
                f"tag {shown} is not allowed (only plain mappings, lists, text, numbers, "
                "true/false and dates)",
                event.start_mark,
            )
        if isinstance(event, yaml.CollectionStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


def _where(what: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return what
    return f"{what} line {mark.line + 1}, column {mark.column + 1}"


def load_yaml(source: str | os.PathLike[str], *, what: str | None = None) -> Any:
    """Parse YAML text or a YAML file, refusing aliases, custom tags and oversize input.

    Parameters
    ----------
    source
        A path (``pathlib.Path`` or other path-like) to read, or the YAML text itself
        (a ``str``).
    what
        How to name the source in messages (default: the path, or ``"YAML text"``).

    Returns
    -------
    Any
        The parsed document (``None`` for an empty one).

    Raises
    ------
    YamlError
        For a missing or unreadable file, text that is not UTF-8, more than
        :data:`MAX_BYTES`, deeper than :data:`MAX_DEPTH`, an anchor or alias, a tag
        outside the plain ones, or a YAML syntax error; one line naming the place.
    FileNotFoundError
        When ``source`` is a path that does not exist.
    """
    if isinstance(source, str):
        label = what or "YAML text"
        if len(source) > MAX_BYTES:
            raise YamlError(f"{label}: longer than {MAX_BYTES:,} characters; refused")
        text = source
    else:
        p = Path(source)
        label = what or str(p)
        if not p.exists():
            raise FileNotFoundError(f"{label} does not exist")
        if not p.is_file():
            raise YamlError(f"{label} is not a file")
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise YamlError(f"{label}: larger than {MAX_BYTES:,} bytes; refused")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise YamlError(
                f"{label} is not UTF-8 text (byte {e.start}); is it really a YAML file?"
            ) from None
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except _Refused as e:
        raise YamlError(f"{_where(label, e.mark)}: {e.message}") from None
    except yaml.MarkedYAMLError as e:
        problem = " ".join(str(e.problem or e.context or "not valid YAML").split())
        raise YamlError(f"{_where(label, e.problem_mark)}: not valid YAML ({problem})") from None
    except yaml.YAMLError as e:
        raise YamlError(f"{label}: not valid YAML ({' '.join(str(e).split())})") from None
    except RecursionError:
        raise YamlError(f"{label}: nesting too deep; refused") from None
    finally:
        loader.dispose()
