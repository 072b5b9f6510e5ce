"""The pure rules of ``salesml serve``'s protection (:mod:`salesml.apps.security`)."""

from __future__ import annotations

import pytest

from salesml.apps.security import (
    KernelLimits,
    TokenBucket,
    allowed_hostnames,
    generate_token,
    host_allowed,
    is_loopback_bind,
    origin_allowed,
    split_host,
)


def test_split_host() -> None:
    assert split_host("LocalHost:8866") == "localhost"
    assert split_host("[::1]:8866") == "::1"
    assert split_host("10.0.0.2") == "10.0.0.2"
    assert split_host("example.com.") == "example.com"


def test_loopback_server_answers_only_to_local_names() -> None:
    names = allowed_hostnames("127.0.0.1")
    for ok in ("localhost:8866", "127.0.0.1:8866", "[::1]:8866", "127.0.0.2"):
        assert host_allowed(ok, "127.0.0.1", names), ok
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header keeps it
    for bad in ("evil.example", "evil.example:8866", "localhost.evil.example", "", None):
        assert not host_allowed(bad, "127.0.0.1", names), bad
    assert not host_allowed("10.1.2.3:8866", "127.0.0.1", names)


def test_allow_host_and_wide_binds() -> None:
    names = allowed_hostnames("127.0.0.1", ["dash.corp.example", "Proxy:443"])
    assert host_allowed("dash.corp.example:8866", "127.0.0.1", names)
    assert host_allowed("proxy", "127.0.0.1", names)
    assert not host_allowed("evil.example", "127.0.0.1", names)
    wide = allowed_hostnames("0.0.0.0")
    assert host_allowed("10.1.2.3:8866", "0.0.0.0", wide)  # an IP literal cannot be rebound
    assert not host_allowed("evil.example", "0.0.0.0", wide)
    one = allowed_hostnames("10.1.2.3")
    assert host_allowed("10.1.2.3:8866", "10.1.2.3", one)
    assert not host_allowed("10.9.9.9:8866", "10.1.2.3", one)
    for bad in ("*", "*.example", "a b", "evil/x"):
        with pytest.raises(ValueError, match="allow-host"):
            allowed_hostnames("127.0.0.1", [bad])


def test_origin() -> None:
    names = allowed_hostnames("127.0.0.1")
    host = "127.0.0.1:8866"
    assert origin_allowed(None, host, "127.0.0.1", names)  # a script, not a page
    assert origin_allowed("http://127.0.0.1:8866", host, "127.0.0.1", names)
    assert not origin_allowed("http://evil.example", host, "127.0.0.1", names)
    assert not origin_allowed("http://127.0.0.1:9999", host, "127.0.0.1", names)
    assert not origin_allowed("null", host, "127.0.0.1", names)
    # Host and Origin both the attacker's name (DNS rebinding): the Host check refuses
    assert not origin_allowed("http://evil.example:8866", "evil.example:8866", "127.0.0.1", names)


def test_is_loopback_bind() -> None:
    assert is_loopback_bind("127.0.0.1") and is_loopback_bind("::1")
    assert is_loopback_bind("localhost")
    assert not is_loopback_bind("0.0.0.0") and not is_loopback_bind("10.0.0.1")


def test_token_is_random_and_long() -> None:
    a, b = generate_token(), generate_token()
    assert a != b and len(a) >= 40 and a.replace("-", "").replace("_", "").isalnum()


def test_kernel_limits_per_client_and_total() -> None:
    now = [0.0]
    lim = KernelLimits(max_total=3, max_per_client=2, clock=lambda: now[0])
    assert lim.admit("a") is None
    lim.bind("k1", "a")
    lim.release("a")
    assert lim.admit("a") is None  # a second page, still starting
    assert lim.admit("a") == "client"  # the third for one client
    assert lim.admit("b") is None
    assert lim.admit("c") == "server"  # 1 kernel + 2 reservations
    lim.release("a")
    lim.release("b")
    lim.prune(["k1"])
    assert lim.count() == 1 and lim.count("a") == 1
    lim.prune([])  # k1 was culled
    assert lim.count("a") == 0 and lim.admit("a") is None


def test_kernel_limits_reservations_lapse() -> None:
    now = [0.0]
    lim = KernelLimits(max_total=0, max_per_client=1, reservation_ttl=300, clock=lambda: now[0])
    assert lim.admit("a") is None  # a request that never finishes
    assert lim.admit("a") == "client"
    now[0] = 301.0
    assert lim.admit("a") is None
    with pytest.raises(ValueError, match="max_total"):
        KernelLimits(max_total=-1)


def test_token_bucket() -> None:
    now = [0.0]
    b = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [b.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5
    assert b.take() and not b.take()
    now[0] = 100.0
    assert sum(b.take() for _ in range(10)) == 3  # never more than the burst
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


def test_app_errors_shown_to_viewers_carry_no_server_path(tmp_path) -> None:
    from salesml.apps.base import AppState, viewer_error

    missing = tmp_path / "crm" / "datasets" / "deals.parquet"
    try:
        missing.read_bytes()
    except OSError as e:
        shown = viewer_error(e)
    assert "deals.parquet" in shown and str(tmp_path) not in shown
    assert shown.startswith("FileNotFoundError")
    assert (
        viewer_error(ValueError(r"C:\Users\bob\deals.csv: bad")) == "ValueError: …/deals.csv: bad"
    )
    assert "https://example.com/a" in viewer_error(ValueError("see https://example.com/a"))

    state = AppState()
    with state.computing():
        raise FileNotFoundError(f"dataset folder {str(tmp_path)!r} not found")
    assert state.error.startswith("FileNotFoundError") and str(tmp_path) not in state.error
