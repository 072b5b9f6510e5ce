"""Fixtures of the rules tests: a local imitation of the WeCom and DingTalk robots."""

from __future__ import annotations

import pytest
from robot_server import RobotServer


@pytest.fixture
def robot_server():
    """A fresh robot imitation on 127.0.0.1 (see tests/rules/robot_server.py)."""
    server = RobotServer()
    yield server
    server.close()
