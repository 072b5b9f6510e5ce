"""``salesml serve``'s Voila command line: safe defaults, token, culling, pre-heat."""

from __future__ import annotations

import sys

import pytest

from salesml.apps.server import apps_dir, jupyter_data_dir, list_apps, serve, voila_command
from salesml.cli import build_parser


def test_safe_defaults() -> None:
    cmd = voila_command()
    assert cmd[:3] == [sys.executable, "-m", "salesml.apps.voila_app"]
    assert cmd[3] == str(apps_dir())
    assert "--Voila.ip=127.0.0.1" in cmd  # localhost only unless told otherwise
    assert "--strip_sources=True" in cmd
    assert "--show_tracebacks=False" in cmd
    assert "--no-browser" in cmd
    assert "--template=salesml" in cmd  # Voila's lab template without its CDN links
    assert "--VoilaConfiguration.allow_template_override=NO" in cmd
    assert "--KernelManager.transport=ipc" in cmd
    assert "--MappingKernelManager.cull_idle_timeout=120" in cmd
    assert "--MappingKernelManager.cull_connected=True" in cmd
    assert "--SalesmlKernelManager.cull_connected_timeout=600" in cmd
    assert "--SalesmlVoila.max_kernels=8" in cmd
    assert "--SalesmlVoila.max_kernels_per_client=3" in cmd
    assert "--preheat_kernel=True" in cmd
    assert not any("token" in a for a in cmd)  # never on a command line others can read


def test_options() -> None:
    cmd = voila_command(
        port=9000, host="0.0.0.0", preheat=False, cull_idle=0, allow_hosts=["dash.example"]
    )
    assert "--port=9000" in cmd and "--Voila.ip=0.0.0.0" in cmd
    assert "--SalesmlVoila.allow_hosts=['dash.example']" in cmd
    assert not any("cull" in a or "preheat" in a for a in cmd)
    with pytest.raises(ValueError, match="port"):
        voila_command(port=70000)
    with pytest.raises(ValueError, match="max_kernels"):
        voila_command(max_kernels=-1)


def test_apps_are_listed_and_cli_parses() -> None:
    assert "funnel_explorer" in list_apps()
    args = build_parser().parse_args(["serve", "--port", "8123", "--token", "t"])
    assert (args.port, args.host, args.token, args.no_preheat) == (8123, "127.0.0.1", "t", False)
    assert (args.no_token, args.cull_idle, args.max_kernels_per_client) == (False, 120, 3)
    args = build_parser().parse_args(
        ["serve", "--no-token", "--allow-host", "a.example", "--allow-host", "b.example"]
    )
    assert args.no_token and args.allow_host == ["a.example", "b.example"]


def test_serve_refuses_contradictions(tmp_path) -> None:
    with pytest.raises(ValueError, match="contradict"):
        serve(token="abcdefgh12", no_token=True, dataset=tmp_path)
    with pytest.raises(ValueError, match="at least 8"):
        serve(token="short", dataset=tmp_path)


def test_template_has_no_cdn_link() -> None:
    text = (jupyter_data_dir() / "voila/templates/salesml/index.html.j2").read_text()
    assert "extends 'voila/templates/lab/index.html.j2'" in text
