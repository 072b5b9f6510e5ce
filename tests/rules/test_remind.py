"""Reminder delivery against a local imitation of the WeCom and DingTalk robots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from robot_server import DINGTALK_SECRET, DINGTALK_TOKEN, WECOM_KEY

from salesml.rules.followups import due_followups
from salesml.rules.notify import DeliveryError, compose_messages, make_robot
from salesml.rules.outbox import OUTBOX_FILE, Outbox, deliver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def open_tasks(demo_data):
    data, truth = demo_data
    return due_followups(data, as_of=truth.end, lang="zh").open()


def _no_sleep(waits):
    return lambda s: waits.append(s)


def test_messages_split_at_the_platform_limits_and_carry_every_task_once(open_tasks):
    mentions = {"R004": {"wecom": "xuxia", "dingtalk": "ding004", "mobile": "13800000004"}}
    sizes = {}
    for platform, limit in (("wecom", 4096), ("dingtalk", 20000 - 1500)):
        msgs = compose_messages(open_tasks, platform=platform, lang="zh", mentions=mentions)
        assert all(len(m.text.encode("utf-8")) <= limit for m in msgs)
        ids = [tid for m in msgs for tid in m.task_ids]
        assert sorted(ids) == sorted(open_tasks["task_id"])
        sizes[platform] = len(msgs)
        if platform == "wecom":
            split = [m for m in msgs if "(1/" in m.text]
            assert split, "the demo has owners with more than 4096 bytes of tasks"
            assert max(len(m.text.encode("utf-8")) for m in msgs) > 3500  # parts are filled
        r004 = [m for m in msgs if m.recipient == "R004"]
        tag = "<@xuxia>" if platform == "wecom" else "@ding004"
        assert r004 and all(tag in m.text for m in r004)
    assert sizes["dingtalk"] == open_tasks["owner_id"].nunique() < sizes["wecom"]
    by_mgr = compose_messages(open_tasks, platform="wecom", by="manager", lang="en")
    assert {m.recipient for m in by_mgr} <= set(open_tasks["manager_id"]) | set(
        open_tasks["owner_id"]
    )
    assert len({m.recipient for m in by_mgr}) < open_tasks["owner_id"].nunique()


def test_markdown_of_task_text_cannot_inject_mentions_or_links():
    tasks = pd.DataFrame(
        {
            "task_id": ["t1"],
            "owner_id": ["R1"],
            "owner_name": ["<@all>[x](http://evil)"],
            "manager_id": ["M"],
            "overdue_hours": [5.0],
            "priority": ["high"],
            "reason": ["<@all> **boss**"],
            "script": ["[click](http://evil)"],
        }
    )
    (m,) = compose_messages(tasks, platform="wecom", lang="en")
    assert "<@all>" not in m.text and "](http" not in m.text


def test_wecom_success_rate_limit_backoff_and_errors(robot_server, open_tasks, tmp_path):
    msgs = compose_messages(open_tasks.head(30), platform="wecom", lang="zh")[:3]
    robot = make_robot("wecom", url=robot_server.wecom_url)
    robot_server.state.plan = [("errcode", 45009), ("errcode", 45009), ("http", 502)]
    waits: list[float] = []
    with Outbox(tmp_path / OUTBOX_FILE) as ob:
        ob.enqueue("wecom", msgs, open_tasks.head(30))
        rep = deliver(
            ob, robot, base_wait=1.0, min_interval=3.0, sleep=_no_sleep(waits), log=lambda s: None
        )
        assert rep.sent == len(msgs) and rep.failed == 0
        assert waits[:3] == [1.0, 2.0, 4.0]  # backoff doubles on rate limits and a 502
        assert waits.count(3.0) == len(msgs) - 1  # 20 a minute: 3 s between messages
        assert ob.counts("wecom") == {"sent": len(msgs)}
    bodies = [d["payload"]["markdown"]["content"] for d in robot_server.state.delivered]
    assert bodies == [m.text for m in msgs]


def test_wecom_wrong_key_fails_without_retry_and_without_the_key(
    robot_server, open_tasks, tmp_path
):
    msgs = compose_messages(open_tasks.head(5), platform="wecom", lang="zh")[:1]
    robot = make_robot("wecom", url=robot_server.wecom_url.replace(WECOM_KEY, "wrong"))
    logs: list[str] = []
    with Outbox(tmp_path / OUTBOX_FILE) as ob:
        ob.enqueue("wecom", msgs, open_tasks.head(5))
        rep = deliver(ob, robot, sleep=lambda s: None, log=logs.append)
    assert rep.failed == 1 and len(robot_server.state.requests) == 1
    assert "93000" in rep.errors[0]
    assert all("wrong" not in s and WECOM_KEY not in s for s in logs + rep.errors)


def test_dingtalk_signed_requests(robot_server, open_tasks, tmp_path):
    msgs = compose_messages(
        open_tasks.head(10), platform="dingtalk", lang="zh", mentions={"R004": {"mobile": "138"}}
    )[:2]
    good = make_robot("dingtalk", url=robot_server.dingtalk_url, secret=DINGTALK_SECRET)
    assert good.send(msgs[0]).status == "sent"
    q = robot_server.state.requests[-1]["query"]
    assert "timestamp" in q and "sign" in q
    body = robot_server.state.delivered[-1]["payload"]
    assert body["msgtype"] == "markdown" and body["markdown"]["text"] == msgs[0].text
    assert set(body["at"]) == {"atUserIds", "atMobiles", "isAtAll"}
    bad = make_robot("dingtalk", url=robot_server.dingtalk_url, secret="SECwrong")
    out = bad.send(msgs[1])
    assert out.status == "failed" and out.errcode == 310000
    assert "SECwrong" not in out.detail and DINGTALK_TOKEN not in out.detail
    robot_server.state.plan = [("errcode", 130101)]
    assert good.send(msgs[1]).status == "retry"


def test_a_timeout_is_not_sent_twice(robot_server, open_tasks, tmp_path):
    msgs = compose_messages(open_tasks.head(5), platform="wecom", lang="zh")[:1]
    robot = make_robot("wecom", url=robot_server.wecom_url, timeout=0.3)
    robot_server.state.plan = [("sleep", 1.0)]
    with Outbox(tmp_path / OUTBOX_FILE) as ob:
        ob.enqueue("wecom", msgs, open_tasks.head(5))
        rep = deliver(ob, robot, sleep=lambda s: None, log=lambda s: None)
        assert rep.unknown == 1 and rep.sent == 0
        again = deliver(ob, robot, sleep=lambda s: None, log=lambda s: None)
        assert again.sent == 0
    assert len(robot_server.state.requests) == 1


def test_enqueue_is_idempotent(open_tasks, tmp_path):
    msgs = compose_messages(open_tasks, platform="wecom", lang="zh")
    with Outbox(tmp_path / OUTBOX_FILE) as ob:
        assert ob.enqueue("wecom", msgs, open_tasks) == len(msgs)
        assert ob.enqueue("wecom", msgs, open_tasks) == 0
        assert ob.queued_task_ids("wecom") == set(open_tasks["task_id"])
        assert set(ob.previous_tasks("wecom")["task_id"]) == set(open_tasks["task_id"])
        assert ob.previous_tasks("dingtalk").empty


def test_bad_robot_settings_are_refused_without_echoing_them():
    with pytest.raises(DeliveryError, match="https"):
        make_robot("wecom", url="ftp://qyapi.weixin.qq.com/x?key=SECRETKEY")
    with pytest.raises(DeliveryError, match="SALESML_WECOM_WEBHOOK"):
        make_robot("wecom", url=None)
    with pytest.raises(DeliveryError) as e:
        make_robot("dingtalk", url="http://example.com/robot/send?access_token=SECRETTOKEN")
    assert "SECRETTOKEN" not in str(e.value)


# ---------------------------------------------------------------------- the command
def _remind(folder: Path, *extra: str, env: dict[str, str], config: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "salesml.cli",
        "remind",
        "--data",
        str(folder),
        "--config",
        str(config),
    ]
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen(
        cmd + list(extra), env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture
def demo_folder(demo_data, tmp_dataset):
    return tmp_dataset(demo_data[0])


def test_dry_run_prints_and_sends_nothing(demo_folder, tmp_path, robot_server):
    cfg = tmp_path / "remind.yaml"
    cfg.write_text("delivery: {min_interval_s: 0}\n", encoding="utf-8")
    p = _remind(
        demo_folder,
        "--within-days",
        "0",
        env={"SALESML_WECOM_WEBHOOK": robot_server.wecom_url},
        config=cfg,
    )
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "###" in out and "试运行" in out
    assert not (demo_folder / OUTBOX_FILE).exists()
    assert robot_server.state.requests == []


@pytest.mark.slow
def test_killed_between_messages_each_task_is_delivered_once(demo_folder, tmp_path, robot_server):
    cfg = tmp_path / "remind.yaml"
    cfg.write_text("delivery: {min_interval_s: 0}\n", encoding="utf-8")
    env = {"SALESML_WECOM_WEBHOOK": robot_server.wecom_url}
    args = ("--send", "wecom", "--within-days", "0", "--lang", "en")
    p = _remind(demo_folder, *args, env=env, config=cfg)
    robot_server.state.kill_after = (p.pid, 3)
    out, err = p.communicate(timeout=300)
    assert p.returncode == -signal.SIGKILL, err
    first = len(robot_server.state.delivered)
    assert first == 3
    robot_server.state.kill_after = None
    p2 = _remind(demo_folder, *args, env=env, config=cfg)
    out2, err2 = p2.communicate(timeout=300)
    assert p2.returncode in (0, 1), err2
    bodies = [d["payload"]["markdown"]["content"] for d in robot_server.state.delivered]
    assert len(bodies) == len(set(bodies)), "a message was delivered twice"
    with Outbox(demo_folder / OUTBOX_FILE) as ob:
        counts = ob.counts("wecom")
        n_messages = sum(counts.values())
        assert counts.get("queued", 0) == 0 and counts.get("failed", 0) == 0
        # the message whose reply the killed process never recorded stays "unknown", not re-sent
        assert counts.get("sent", 0) + counts.get("unknown", 0) == n_messages
        assert counts.get("unknown", 0) <= 1
    assert len(bodies) == n_messages > 3
    # a third run finds nothing new to send
    p3 = _remind(demo_folder, *args, env=env, config=cfg)
    out3, err3 = p3.communicate(timeout=300)
    assert len(robot_server.state.delivered) == n_messages
    for text in (out + err + out2 + err2 + out3 + err3,):
        assert WECOM_KEY not in text and robot_server.wecom_url not in text


def test_no_webhook_on_the_command_line():
    from salesml.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["remind", "--data", "x", "--webhook", "https://h/x?key=1"])


def test_dingtalk_from_a_config_file_with_mentions(demo_folder, tmp_path, robot_server):
    cfg = tmp_path / "remind.yaml"
    cfg.write_text(
        f"dingtalk: {{webhook: '{robot_server.dingtalk_url}', secret: '{DINGTALK_SECRET}'}}\n"
        "mentions: {R004: {dingtalk: ding004}}\n"
        "delivery: {min_interval_s: 0}\n",
        encoding="utf-8",
    )
    args = ("--send", "dingtalk", "--within-days", "0", "--by", "owner")
    p = _remind(demo_folder, *args, env={}, config=cfg)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    got = robot_server.state.delivered
    assert got and all(d["platform"] == "dingtalk" for d in got)
    ats = [d["payload"]["at"]["atUserIds"] for d in got]
    assert ["ding004"] in ats
    assert DINGTALK_SECRET not in out + err and DINGTALK_TOKEN not in out + err
    bad = tmp_path / "bad.yaml"
    bad.write_text("dingtalk: {webhook: x}\nsecrets: 1\n", encoding="utf-8")
    p = _remind(demo_folder, *args, env={}, config=bad)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 2 and "unknown key" in err


def test_a_robot_over_its_rate_keeps_the_rest_for_the_next_run(robot_server, open_tasks, tmp_path):
    msgs = compose_messages(open_tasks, platform="wecom", lang="zh")[:4]
    robot = make_robot("wecom", url=robot_server.wecom_url)
    robot_server.state.rate_limit = 2  # two a minute
    with Outbox(tmp_path / OUTBOX_FILE) as ob:
        ob.enqueue("wecom", msgs, open_tasks)
        rep = deliver(ob, robot, max_attempts=3, sleep=lambda s: None, log=lambda s: None)
        assert rep.sent == 2 and rep.left_queued == 2
        assert all("rate limited (errcode 45009)" in e for e in rep.errors)
        robot_server.state.rate_limit = None  # a minute later
        again = deliver(ob, robot, sleep=lambda s: None, log=lambda s: None)
        assert again.sent == 2 and ob.counts("wecom") == {"sent": 4}
    bodies = [d["payload"]["markdown"]["content"] for d in robot_server.state.delivered]
    assert sorted(bodies) == sorted(m.text for m in msgs)
