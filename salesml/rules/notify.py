"""Follow-up reminders as WeCom and DingTalk robot messages: composing, splitting, signing, sending.

Messages
--------
:func:`compose_messages` turns open tasks into markdown messages, one per owner (or per
manager, listing their team's tasks), overdue tasks first, each line a task's reason and
suggested script. A message longer than the platform allows is split at task lines
into parts ``(1/2)``, ``(2/2)``; each part repeats the header and the mentions.

Platforms (limits and replies as their robot documentation states them):

- **WeCom group robot** (企业微信群机器人): ``POST <webhook>`` with
  ``{"msgtype": "markdown", "markdown": {"content": ...}}``; content at most 4096 bytes
  of UTF-8 (longer is refused with ``errcode`` 40058); mentions are ``<@userid>`` in the
  content; at most 20 messages a minute per robot (``errcode`` 45009 beyond).
- **DingTalk custom robot** (钉钉自定义机器人): ``POST <webhook>[&timestamp=..&sign=..]``
  with ``{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"atUserIds",
  "atMobiles", "isAtAll"}}``; the body at most 20000 bytes; the people in ``at`` must
  also be written ``@id`` in the text; at most 20 messages a minute (``errcode`` 130101
  beyond, then throttled for 10 minutes). With the signed-request option, ``sign`` is
  ``base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))``, URL-encoded, the
  timestamp in milliseconds (within an hour of the server's clock); ``errcode`` 310000
  when the signature or keywords do not match.

Both answer ``{"errcode": 0, "errmsg": "ok"}`` on success.

Sending
-------
:class:`Robot.send` posts one message and classifies the reply: delivered; *retry*
(rate limits, HTTP 5xx or 429, a refused connection, ``errcode`` -1 "system
busy") with exponential backoff; *failed* (any other error code: a wrong key, a bad
signature, a message too long), not retried; or *unknown* (no answer within the timeout:
the message may have arrived, so it is not sent again). The webhook URL and the secret are never
put in a message or an exception: errors name the platform and the host only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesml.i18n import check_lang, label, t

__all__ = [
    "DINGTALK_MAX_BYTES",
    "PLATFORMS",
    "WECOM_MAX_BYTES",
    "DeliveryError",
    "Message",
    "Robot",
    "SendOutcome",
    "compose_messages",
    "dingtalk_sign",
    "make_robot",
]

PLATFORMS: tuple[str, ...] = ("wecom", "dingtalk")
#: WeCom markdown content limit (bytes of UTF-8).
WECOM_MAX_BYTES = 4096
#: DingTalk request body limit (bytes); the text gets this minus room for the JSON around it.
DINGTALK_MAX_BYTES = 20000
_DINGTALK_ENVELOPE = 1500  # title, "at" lists and JSON punctuation
#: Error codes meaning "too many messages, wait".
RATE_LIMIT_CODES = {"wecom": {45009}, "dingtalk": {130101, 130102}}
#: Error codes meaning "busy, try again".
BUSY_CODES = {-1}
_MAX_TITLE = 60


class DeliveryError(RuntimeError):
    """A robot is misconfigured (bad URL, missing secret); the message never names secrets."""


@dataclass(frozen=True)
class Message:
    """One robot message: who it is for, the tasks it carries, its markdown text.

    Attributes
    ----------
    recipient
        The owner (or manager) id the message is about.
    task_ids
        Tasks listed in it (each task is in exactly one message).
    title
        Short title (DingTalk shows it in the notification).
    text
        The markdown body, mentions included.
    mention_ids
        Platform user ids mentioned.
    """

    recipient: str
    task_ids: tuple[str, ...]
    title: str
    text: str
    mention_ids: tuple[str, ...] = ()
    mention_mobiles: tuple[str, ...] = ()


def _max_bytes(platform: str) -> int:
    if platform == "wecom":
        return WECOM_MAX_BYTES
    if platform == "dingtalk":
        return DINGTALK_MAX_BYTES - _DINGTALK_ENVELOPE
    return WECOM_MAX_BYTES  # dry run: show what WeCom would get


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary, with ``…``."""
    if _nbytes(text) <= limit:
        return text
    raw = text.encode("utf-8")[: max(0, limit - 3)]
    return raw.decode("utf-8", errors="ignore") + "…"


def _md(text: object) -> str:
    """Plain text made safe inside robot markdown (no links, mentions or HTML of its own)."""
    s = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    for ch in ("<", ">", "[", "]", "`", "*", "_", "#"):
        s = s.replace(ch, " ")
    return " ".join(s.split())


def _mention_of(people: Mapping[str, Mapping[str, str]], who: str, platform: str) -> dict:
    entry = people.get(who) or {}
    return {
        "id": str(entry.get(platform) or "").strip(),
        "mobile": str(entry.get("mobile") or "").strip(),
    }


def compose_messages(
    tasks: pd.DataFrame,
    *,
    platform: str = "none",
    by: str = "owner",
    lang: str = "zh",
    mentions: Mapping[str, Mapping[str, str]] | None = None,
    max_bytes: int | None = None,
) -> list[Message]:
    """Markdown messages for the open ``tasks``, one per owner or manager, split at the limit.

    Parameters
    ----------
    tasks
        Rows of :attr:`salesml.rules.followups.FollowupResult.table` (open ones).
    platform
        ``wecom``, ``dingtalk`` or ``none`` (a dry run; WeCom's limit applies).
    by
        ``owner`` (each person their own tasks) or ``manager`` (each manager their team's).
    lang
        ``zh`` or ``en``.
    mentions
        Person id -> ``{"wecom": userid, "dingtalk": userid, "mobile": ...}``: who can be
        mentioned on which platform; people without an entry are named, not mentioned.
    max_bytes
        Limit of one message's text (default: the platform's).

    Returns
    -------
    list of Message
        In order of recipient (most overdue work first); every task in exactly one message.
    """
    check_lang(lang)
    if by not in ("owner", "manager"):
        raise ValueError(f"by must be 'owner' or 'manager', got {by!r}")
    limit = max_bytes or _max_bytes(platform)
    people = mentions or {}
    if tasks.empty:
        return []
    key = "owner_id" if by == "owner" else "manager_id"
    frame = tasks.assign(
        recipient_=tasks[key].fillna(tasks["owner_id"]).astype("str"),
        is_late=tasks["overdue_hours"].fillna(0.0) > 0,
    )
    order = (
        frame.groupby("recipient_")["is_late"]
        .sum()
        .sort_values(ascending=False, kind="stable")
        .index
    )
    names = dict(
        zip(tasks["owner_id"].astype("str"), tasks["owner_name"].astype("str"), strict=False)
    )
    out: list[Message] = []
    for who in order:
        g = frame[frame["recipient_"] == who].sort_values(
            ["is_late", "overdue_hours"], ascending=[False, False], kind="stable"
        )
        out.extend(_messages_for(str(who), g, names, people, platform, by, lang, limit))
    return out


def _messages_for(
    who: str,
    g: pd.DataFrame,
    names: Mapping[str, str],
    people: Mapping[str, Mapping[str, str]],
    platform: str,
    by: str,
    lang: str,
    limit: int,
) -> list[Message]:
    name = _md(names.get(who, who)) or who
    m = _mention_of(people, who, platform) if platform in PLATFORMS else {"id": "", "mobile": ""}
    ids = (m["id"],) if m["id"] else ()
    mobiles = (m["mobile"],) if (m["mobile"] and platform == "dingtalk" and not ids) else ()
    if platform == "wecom" and ids:
        tag = f"<@{ids[0]}>"
    elif platform == "dingtalk" and (ids or mobiles):
        tag = "@" + (ids or mobiles)[0]
    else:
        tag = ""
    late = int(g["is_late"].sum())
    title = _cut(t("rules.msg.title", lang, name=name, n=len(g)), _MAX_TITLE)
    overdue = t("rules.msg.overdue", lang)
    flags = np.where(g["is_late"].to_numpy(dtype=bool), overdue, "")
    prio = g["priority"].map(lambda v: label(v, lang)).astype("str").to_numpy()
    reason = g["reason"].map(_md).astype("str").to_numpy()
    script = g["script"].map(_md).astype("str").to_numpy()
    owner = (
        (" · " + g["owner_name"].map(_md).astype("str")).to_numpy()
        if by == "manager"
        else np.full(len(g), "")
    )
    text = [
        f"- **{p}**{f} {r}{o}\n  > {s}"
        for p, f, r, o, s in zip(prio, flags, reason, owner, script, strict=True)
    ]
    lines = list(zip(g["task_id"].astype("str").to_list(), text, strict=True))
    head_fn = lambda part, parts: (  # noqa: E731 - one header per part
        f"### {t('rules.msg.header', lang, name=name, n=len(g), overdue=late)}"
        + (f" ({part}/{parts})" if parts > 1 else "")
        + (f"\n{tag}" if tag else "")
    )
    room = limit - _nbytes(head_fn(99, 99)) - 2
    chunks: list[list[tuple[str, str]]] = [[]]
    used = 0
    for tid, line in lines:
        line = _cut(line, room)
        size = _nbytes(line) + 1
        if chunks[-1] and used + size > room:
            chunks.append([])
            used = 0
        chunks[-1].append((tid, line))
        used += size
    parts = len(chunks)
    out = []
    for i, chunk in enumerate(chunks, start=1):
        text = head_fn(i, parts) + "\n\n" + "\n".join(line for _, line in chunk)
        out.append(
            Message(
                recipient=who,
                task_ids=tuple(tid for tid, _ in chunk),
                title=title,
                text=text,
                mention_ids=ids,
                mention_mobiles=mobiles,
            )
        )
    return out


# ---------------------------------------------------------------------- robots
def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: URL-encoded base64 of HMAC-SHA256(secret, "<timestamp>\\n<secret>")."""
    msg = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), msg, digestmod=hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one message.

    ``sent``; ``retry`` (not taken: try later); ``failed`` (refused for good); ``unknown``
    (no answer in time: it may have arrived, so it is not sent again).
    """

    status: str
    detail: str = ""
    errcode: int | None = None


def _check_url(url: str, platform: str) -> urllib.parse.SplitResult:
    if not isinstance(url, str) or not url or len(url) > 2000 or any(c.isspace() for c in url):
        raise DeliveryError(f"the {platform} webhook is not a URL")
    parts = urllib.parse.urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise DeliveryError(
            f"the {platform} webhook must be an https:// URL (http only to this machine)"
        )
    if not parts.hostname or parts.username or parts.password:
        raise DeliveryError(f"the {platform} webhook has no host, or has a user name in it")
    return parts


@dataclass
class Robot:
    """A WeCom group robot or a DingTalk custom robot (build with :func:`make_robot`).

    The URL and secret are kept out of ``repr`` and of every message and error.
    """

    platform: str
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @property
    def host(self) -> str:
        """The webhook's host (what messages may name)."""
        return urllib.parse.urlsplit(self.url).hostname or "?"

    def payload(self, message: Message) -> dict[str, Any]:
        """The JSON body for ``message``."""
        if self.platform == "wecom":
            return {"msgtype": "markdown", "markdown": {"content": message.text}}
        return {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": message.text},
            "at": {
                "atUserIds": list(message.mention_ids),
                "atMobiles": list(message.mention_mobiles),
                "isAtAll": False,
            },
        }

    def request_url(self) -> str:
        """The URL to post to (DingTalk with a secret: signed now)."""
        if self.platform == "dingtalk" and self.secret:
            ts = round(self.clock() * 1000)
            sep = "&" if "?" in self.url else "?"
            return f"{self.url}{sep}timestamp={ts}&sign={dingtalk_sign(self.secret, ts)}"
        return self.url

    def send(self, message: Message) -> SendOutcome:
        """Post ``message`` once and classify the reply (see the module docstring)."""
        body = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(
            self.request_url(),
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        where = f"{self.platform} robot at {self.host}"
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read(65536)
        except urllib.error.HTTPError as e:
            retry = e.code == 429 or e.code >= 500
            return SendOutcome("retry" if retry else "failed", f"{where}: HTTP {e.code}")
        except TimeoutError:
            return SendOutcome("unknown", f"{where}: no answer within {self.timeout:g} s")
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                return SendOutcome("unknown", f"{where}: no answer within {self.timeout:g} s")
            return SendOutcome("retry", f"{where}: cannot connect ({type(reason).__name__})")
        except OSError as e:
            return SendOutcome("retry", f"{where}: connection failed ({type(e).__name__})")
        try:
            reply = json.loads(raw.decode("utf-8"))
            code = int(reply.get("errcode", -999))
            msg = str(reply.get("errmsg", ""))[:200]
        except (ValueError, AttributeError, TypeError):
            return SendOutcome("retry", f"{where}: the reply is not the robot's JSON")
        if code == 0:
            return SendOutcome("sent", "ok", 0)
        if code in RATE_LIMIT_CODES[self.platform]:
            return SendOutcome("retry", f"{where}: rate limited (errcode {code})", code)
        if code in BUSY_CODES:
            return SendOutcome("retry", f"{where}: busy (errcode {code})", code)
        return SendOutcome("failed", f"{where}: errcode {code} {msg}".strip(), code)


def make_robot(
    platform: str, *, url: str | None, secret: str | None = None, timeout: float = 10.0
) -> Robot:
    """A checked robot for ``platform`` (``wecom`` / ``dingtalk``).

    Raises
    ------
    DeliveryError
        For an unknown platform, a missing or malformed webhook URL.
    """
    if platform not in PLATFORMS:
        raise DeliveryError(f"unknown platform {platform!r}; choose wecom or dingtalk")
    if not url:
        raise DeliveryError(
            f"no {platform} webhook configured: set SALESML_{platform.upper()}_WEBHOOK or write "
            f"'{platform}: {{webhook: ...}}' in the remind config file"
        )
    _check_url(url, platform)
    if secret is not None and (not isinstance(secret, str) or len(secret) > 500):
        raise DeliveryError(f"the {platform} secret must be text of at most 500 characters")
    if not 0 < timeout <= 120:
        raise DeliveryError("timeout must be between 0 and 120 seconds")
    return Robot(platform, url, secret or None, timeout)


def iter_backoff(base: float, attempts: int, cap: float) -> Iterable[float]:
    """Waits before each retry: ``base``, ``2 base``, ``4 base`` ... at most ``cap``."""
    for i in range(max(0, attempts - 1)):
        yield min(cap, base * (2**i))
