"""Make sure notebooks run on the interpreter salesml is installed in.

A machine may have no ``python3`` kernelspec, or one that points at another
Python (a different virtualenv without salesml). Rather than trusting it, or
installing anything into the user's Jupyter folders, salesml writes a private
kernelspec for the running interpreter (``sys.executable``) into a cache folder
and points papermill (through a kernel manager) and Voila (through
``JUPYTER_PATH``) at it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_client.manager import KernelManager

__all__ = ["KERNEL_NAME", "kernel_env", "kernelspec_root", "managed_kernel"]

#: Name of the kernelspec salesml writes and uses.
KERNEL_NAME = "python3"


def kernelspec_root() -> Path:
    """Folder holding ``kernels/python3/kernel.json`` for the running interpreter.

    The folder is keyed by the interpreter path, so two environments never share it.
    """
    import hashlib

    key = hashlib.sha256(sys.executable.encode()).hexdigest()[:12]
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""  # one folder per user
    base = Path(
        os.environ.get("SALESML_CACHE", Path(tempfile.gettempdir()) / f"salesml-cache{user}")
    )
    root = base / f"jupyter-{key}"
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_file = spec_dir / "kernel.json"
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python {sys.version_info.major}.{sys.version_info.minor} (salesml)",
        "language": "python",
        "metadata": {"debugger": True, "supported_encryption": ["curve"]},
    }
    text = json.dumps(spec, indent=1)
    if not spec_file.exists() or spec_file.read_text(encoding="utf-8") != text:
        spec_dir.mkdir(parents=True, exist_ok=True)
        tmp = spec_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, spec_file)
    return root


@contextmanager
def managed_kernel() -> Iterator[KernelManager]:
    """A kernel manager for ``sys.executable`` whose kernel is shut down on exit.

    Pass it to papermill (``km=``): papermill only shuts down kernels it created
    itself. Connection file and (on POSIX) unix sockets live in a private
    temporary folder, removed afterwards, so nothing lands in the working directory.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    ksm = KernelSpecManager(kernel_dirs=[str(kernelspec_root() / "kernels")])
    tmp = Path(tempfile.mkdtemp(prefix="salesml-kernel-"))
    # unix sockets keep kernel traffic off the network (and ipykernel's TCP warning away)
    ipc = os.name == "posix"
    km = KernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=ksm,
        transport="ipc" if ipc else "tcp",
        ip=str(tmp / "k") if ipc else "127.0.0.1",
        connection_file=str(tmp / "kernel.json"),
    )
    try:
        yield km
    finally:
        try:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
        except Exception:  # the kernel may already be gone; the folder goes anyway
            pass
        shutil.rmtree(tmp, ignore_errors=True)


def kernel_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) whose ``JUPYTER_PATH`` finds salesml's kernel."""
    out = dict(os.environ if env is None else env)
    root = str(kernelspec_root())
    rest = out.get("JUPYTER_PATH", "")
    out["JUPYTER_PATH"] = root + (os.pathsep + rest if rest else "")
    return out
