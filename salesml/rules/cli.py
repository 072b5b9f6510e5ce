"""``salesml remind``: follow-up reminders, printed (dry run) or sent to WeCom / DingTalk robots.

Webhook URLs and secrets never come from the command line (it ends up in shell history
and process lists) and are never printed. They come from, in this order:

1. the environment: ``SALESML_WECOM_WEBHOOK``, ``SALESML_DINGTALK_WEBHOOK``,
   ``SALESML_DINGTALK_SECRET``;
2. a config file: ``--config FILE``, else ``SALESML_REMIND_CONFIG``, else
   ``~/.config/salesml/remind.yaml`` if it exists::

       wecom: {webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."}
       dingtalk: {webhook: "https://oapi.dingtalk.com/robot/send?access_token=...", secret: "SEC..."}
       mentions:            # who can be mentioned, by rep id
         R004: {wecom: xuxia, dingtalk: "0123456", mobile: "13800000000"}
       delivery: {min_interval_s: 3, max_attempts: 5, base_wait_s: 2, max_wait_s: 120, timeout_s: 10}

Mentions are also read from the reps table's ``wecom_userid``, ``dingtalk_userid`` and
``mobile`` columns when it has them. The outbox (``reminders_outbox.sqlite``) sits in the
dataset folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["load_remind_config", "register"]

_ENV = {
    "wecom": ("SALESML_WECOM_WEBHOOK", None),
    "dingtalk": ("SALESML_DINGTALK_WEBHOOK", "SALESML_DINGTALK_SECRET"),
}
_DELIVERY_KEYS = {
    "min_interval_s": (0.0, 60.0),
    "max_attempts": (1, 20),
    "base_wait_s": (0.0, 600.0),
    "max_wait_s": (0.0, 3600.0),
    "timeout_s": (0.1, 120.0),
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``remind`` to the ``salesml`` parser."""
    p = sub.add_parser(
        "remind",
        help="follow-up reminders: print them (dry run) or send them to WeCom / DingTalk",
        description="Compute the follow-ups due as of a date and print the messages (the "
        "default), or send them to a WeCom group robot or a DingTalk custom robot. Each task "
        "is sent at most once (an outbox in the dataset folder). Webhooks and secrets come "
        "from the environment or a config file, never from the command line.",
    )
    p.add_argument("--data", required=True, metavar="PATH", help="dataset folder")
    p.add_argument("--as-of", default=None, metavar="T", help="date-time (default: end of data)")
    p.add_argument(
        "--send", choices=["wecom", "dingtalk", "none"], default="none", help="default: none"
    )
    p.add_argument("--rules", default=None, metavar="FILE", help="follow-up rules (YAML)")
    p.add_argument("--tier-rules", default=None, metavar="FILE", help="tier rules (YAML)")
    p.add_argument("--by", choices=["owner", "manager"], default="owner", help="one message per")
    p.add_argument("--lang", choices=["zh", "en"], default="zh")
    p.add_argument(
        "--within-days",
        type=float,
        default=14.0,
        metavar="N",
        help="only open tasks due in the last N days (0: every open task; default 14)",
    )
    p.add_argument("--config", default=None, metavar="FILE", help="remind config (YAML)")
    p.add_argument(
        "--create-leads",
        action="store_true",
        help="also add the leads of create_lead rules to the dataset's leads table "
        "(existing rows and the quarantine are kept; a rerun adds nothing)",
    )
    p.set_defaults(func=_cmd_remind)


def load_remind_config(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The remind config: the file (if any), checked; secrets stay inside the returned dict.

    Raises
    ------
    ValueError
        For a config that is not a mapping, an unknown key or a delivery value out of range.
    """
    from salesml.data.yamlsafe import load_yaml

    if path is None:
        env = os.environ.get("SALESML_REMIND_CONFIG")
        default = Path.home() / ".config" / "salesml" / "remind.yaml"
        path = env or (default if default.exists() else None)
    if path is None:
        return {}
    cfg = load_yaml(Path(path), what=f"remind config {path}")
    if cfg is None:
        return {}
    if not isinstance(cfg, Mapping):
        raise ValueError(f"remind config {path}: expected keys wecom, dingtalk, mentions, delivery")
    unknown = sorted(set(cfg) - {"wecom", "dingtalk", "mentions", "delivery"})
    if unknown:
        raise ValueError(f"remind config {path}: unknown key(s) {', '.join(unknown)}")
    for name, (lo, hi) in _DELIVERY_KEYS.items():
        v = (cfg.get("delivery") or {}).get(name)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi
        ):
            raise ValueError(f"remind config {path}: delivery.{name} must be from {lo} to {hi}")
    return dict(cfg)


def _mentions(data: Any, cfg: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if data.has("reps"):
        reps = data.reps
        cols = {"wecom_userid": "wecom", "dingtalk_userid": "dingtalk", "mobile": "mobile"}
        have = [c for c in cols if c in reps.columns]
        for row in reps[["rep_id", *have]].itertuples(index=False):
            entry = {cols[c]: str(v) for c, v in zip(have, row[1:], strict=False) if pd.notna(v)}
            if entry:
                out[str(row[0])] = entry
    for who, entry in (cfg.get("mentions") or {}).items():
        if isinstance(entry, Mapping):
            out.setdefault(str(who), {}).update(
                {k: str(v) for k, v in entry.items() if k in ("wecom", "dingtalk", "mobile")}
            )
    return out


def _robot_settings(platform: str, cfg: Mapping[str, Any]) -> tuple[str | None, str | None]:
    url_env, secret_env = _ENV[platform]
    section = cfg.get(platform) or {}
    url = os.environ.get(url_env) or section.get("webhook")
    secret = (os.environ.get(secret_env) if secret_env else None) or section.get("secret")
    return url, secret


def _cmd_remind(args: argparse.Namespace) -> int:
    from salesml.data.errors import DatasetError
    from salesml.data.io import load_dataset
    from salesml.i18n import t
    from salesml.rules.followups import due_followups
    from salesml.rules.notify import DeliveryError, compose_messages, make_robot
    from salesml.rules.outbox import OUTBOX_FILE, Outbox, deliver
    from salesml.rules.rulefile import RuleError

    folder = Path(args.data)
    try:
        cfg = load_remind_config(args.config)
        data = load_dataset(folder, progress=False)
    except (DatasetError, ValueError, FileNotFoundError) as e:
        print(f"salesml remind: {e}", file=sys.stderr)
        return 2
    platform = args.send
    outbox_path = folder / OUTBOX_FILE
    robot = None
    if platform != "none":
        url, secret = _robot_settings(platform, cfg)
        delivery = cfg.get("delivery") or {}
        try:
            robot = make_robot(
                platform, url=url, secret=secret, timeout=float(delivery.get("timeout_s", 10.0))
            )
        except DeliveryError as e:
            print(f"salesml remind: {e}", file=sys.stderr)
            return 2
    previous = None
    if outbox_path.exists():
        with Outbox(outbox_path) as ob:
            previous = ob.previous_tasks(platform if platform != "none" else "wecom")
    try:
        result = due_followups(
            data,
            rules=Path(args.rules) if args.rules else None,
            tier_rules=Path(args.tier_rules) if args.tier_rules else None,
            as_of=args.as_of,
            previous=previous,
            lang=args.lang,
        )
    except (RuleError, ValueError) as e:
        print(f"salesml remind: {e}", file=sys.stderr)
        return 2
    if args.create_leads:
        from salesml.rules.leads import create_followup_leads

        try:
            added = create_followup_leads(
                folder,
                as_of=result.as_of,
                rules=result.rules,
                tier_rules=Path(args.tier_rules) if args.tier_rules else None,
            )
        except (DatasetError, RuleError, ValueError) as e:
            print(f"salesml remind: {e}", file=sys.stderr)
            return 2
        print(t("rules.remind.leads_added", args.lang, n=len(added)), flush=True)
    tasks = result.open()
    if args.within_days and args.within_days > 0:
        since = result.as_of - pd.Timedelta(days=float(args.within_days))
        tasks = tasks[tasks["due_at"] >= since]
    messages = compose_messages(
        tasks, platform=platform, by=args.by, lang=args.lang, mentions=_mentions(data, cfg)
    )
    if robot is None:
        for m in messages:
            print(m.text)
            print("-" * 40)
        print(t("rules.remind.dry_run", args.lang, n=len(messages), tasks=len(tasks)))
        return 0
    delivery = cfg.get("delivery") or {}
    with Outbox(outbox_path) as ob:
        queued = ob.enqueue(platform, messages, tasks)
        print(t("rules.remind.queued", args.lang, n=queued), flush=True)
        rep = deliver(
            ob,
            robot,
            max_attempts=int(delivery.get("max_attempts", 5)),
            base_wait=float(delivery.get("base_wait_s", 2.0)),
            max_wait=float(delivery.get("max_wait_s", 120.0)),
            min_interval=float(delivery.get("min_interval_s", 3.0)),
            log=lambda s: print(s, file=sys.stderr, flush=True),
        )
    print(
        t(
            "rules.remind.sent",
            args.lang,
            platform=platform,
            sent=rep.sent,
            failed=rep.failed,
            unknown=rep.unknown + rep.in_doubt_from_before,
            left=rep.left_queued,
        )
    )
    return 0 if not (rep.failed or rep.unknown or rep.left_queued) else 1
