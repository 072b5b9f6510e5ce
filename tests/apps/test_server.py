"""``salesml serve``'s Voila command line: safe defaults, token, culling, pre-heat."""

from __future__ import annotations

import sys

import pytest

from salesml.apps.server import apps_dir, list_apps, voila_command
from salesml.cli import build_parser


def test_safe_defaults() -> None:
    cmd = voila_command()
    assert cmd[:3] == [sys.executable, "-m", "voila"]
    assert cmd[3] == str(apps_dir())
    assert "--Voila.ip=127.0.0.1" in cmd  # localhost only unless told otherwise
    assert "--strip_sources=True" in cmd
    assert "--show_tracebacks=False" in cmd
    assert "--no-browser" in cmd
    assert any(a.startswith("--MappingKernelManager.cull_idle_timeout=900") for a in cmd)
    assert "--preheat_kernel=True" in cmd
    assert not any(a.startswith("--token") for a in cmd)


def test_options() -> None:
    cmd = voila_command(port=9000, host="0.0.0.0", token="s3cret", preheat=False, cull_idle=0)
    assert "--port=9000" in cmd and "--Voila.ip=0.0.0.0" in cmd and "--token=s3cret" in cmd
    assert not any("cull" in a or "preheat" in a for a in cmd)
    with pytest.raises(ValueError, match="port"):
        voila_command(port=70000)


def test_apps_are_listed_and_cli_parses() -> None:
    assert "funnel_explorer" in list_apps()
    args = build_parser().parse_args(["serve", "--port", "8123", "--token", "t"])
    assert (args.port, args.host, args.token, args.no_preheat) == (8123, "127.0.0.1", "t", False)
