"""Build step: ship the report and app notebooks inside the wheel.

The notebooks stay in the top-level ``notebooks/`` folder, where users look for
them and where an editable install keeps reading them. A wheel gets a copy as
package data in ``salesml/_notebooks/`` (found by
:func:`salesml.reports.registry.notebooks_dir`). Every other setting is in
``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"


class BuildPyWithNotebooks(build_py):
    """``build_py`` that also copies ``notebooks/**/*.ipynb`` into ``salesml/_notebooks``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not NOTEBOOKS.is_dir():
            return  # an editable install reads the top-level notebooks/ folder
        target = Path(self.build_lib) / "salesml" / "_notebooks"
        for src in sorted(NOTEBOOKS.rglob("*.ipynb")):
            rel = src.relative_to(NOTEBOOKS)
            if any(part.startswith(".") for part in rel.parts):  # .ipynb_checkpoints
                continue
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


setup(cmdclass={"build_py": BuildPyWithNotebooks})
