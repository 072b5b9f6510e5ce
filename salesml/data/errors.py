"""The error a dataset file or setting raises when it cannot be used.

Every such error is one line that names the file and the line, column or key at
fault and says what to change; command lines print it and exit 2.
"""

from __future__ import annotations

__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """A dataset file or setting cannot be used (message: file, place, what to do)."""
