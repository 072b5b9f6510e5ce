"""The reminder outbox: an embedded SQLite file next to the dataset; every task sent at most once.

Sending goes through three committed steps per message: *queued* (the message and its
tasks are written, each task at most once per platform: ``message_tasks`` has the key
``(platform, task_id)``), *sending* (committed before the request leaves), then
*sent*. A process killed anywhere leaves each message in one of these states; the next
run sends the queued ones and never re-sends a message left *sending*: it may have
arrived, so it is marked *unknown* and reported (at most once, never twice). Replies
that say the message was not taken (rate limits, "busy", HTTP 5xx, no connection) put
it back to *queued* with a backoff; a reply that refuses it for good (wrong key, bad
signature) marks it *failed*; no answer within the timeout marks it *unknown*.

The outbox also remembers every task given (rule, dedupe key, anchor), so cooldowns of
:func:`salesml.rules.followups.due_followups` hold across runs (``previous=``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salesml.rules.notify import Message, Robot, iter_backoff

__all__ = ["OUTBOX_FILE", "DeliveryReport", "Outbox", "deliver"]

#: File name of the outbox inside the dataset folder.
OUTBOX_FILE = "reminders_outbox.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY, rule_id TEXT, dedupe_key TEXT, anchor_at TEXT,
    owner_id TEXT, first_seen TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, platform TEXT NOT NULL, recipient TEXT,
    title TEXT, body TEXT NOT NULL, mention_ids TEXT, mention_mobiles TEXT,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    created_at TEXT, sent_at TEXT
);
CREATE TABLE IF NOT EXISTS message_tasks (
    platform TEXT NOT NULL, task_id TEXT NOT NULL, message_id INTEGER NOT NULL,
    PRIMARY KEY (platform, task_id)
);
"""


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


class Outbox:
    """The outbox file (created on first use). Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    # ------------------------------------------------------------------ tasks
    def previous_tasks(self, platform: str) -> pd.DataFrame:
        """Tasks given to ``platform`` in earlier runs (``task_id``, ``rule_id``, ``dedupe_key``,
        ``anchor_at``)."""
        rows = self._db.execute(
            "SELECT t.task_id, t.rule_id, t.dedupe_key, t.anchor_at FROM tasks t "
            "JOIN message_tasks m ON m.task_id = t.task_id WHERE m.platform = ?",
            (platform,),
        ).fetchall()
        out = pd.DataFrame(rows, columns=["task_id", "rule_id", "dedupe_key", "anchor_at"])
        out["anchor_at"] = pd.to_datetime(out["anchor_at"])
        return out

    def queued_task_ids(self, platform: str) -> set[str]:
        """Tasks already in a message for ``platform`` (whatever became of it)."""
        rows = self._db.execute(
            "SELECT task_id FROM message_tasks WHERE platform = ?", (platform,)
        ).fetchall()
        return {r[0] for r in rows}

    def enqueue(self, platform: str, messages: Sequence[Message], tasks: pd.DataFrame) -> int:
        """Queue ``messages`` and remember ``tasks``, in one transaction; returns messages queued.

        A message whose tasks are all queued already is skipped; tasks already queued are
        never queued twice (the primary key refuses it).
        """
        done = self.queued_task_ids(platform)
        n = 0
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for m in messages:
                new = [tid for tid in m.task_ids if tid not in done]
                if not new:
                    continue
                cur.execute(
                    "INSERT INTO messages (platform, recipient, title, body, mention_ids, "
                    "mention_mobiles, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                    (
                        platform,
                        m.recipient,
                        m.title,
                        m.text,
                        json.dumps(list(m.mention_ids)),
                        json.dumps(list(m.mention_mobiles)),
                        _now(),
                    ),
                )
                mid = cur.lastrowid
                cur.executemany(
                    "INSERT INTO message_tasks (platform, task_id, message_id) VALUES (?, ?, ?)",
                    [(platform, tid, mid) for tid in new],
                )
                done.update(new)
                n += 1
            rows = [
                (
                    str(r.task_id),
                    str(r.rule_id),
                    str(r.dedupe_key),
                    pd.Timestamp(r.anchor_at).isoformat(),
                    str(r.owner_id),
                    _now(),
                )
                for r in tasks[
                    ["task_id", "rule_id", "dedupe_key", "anchor_at", "owner_id"]
                ].itertuples(index=False)
            ]
            cur.executemany("INSERT OR IGNORE INTO tasks VALUES (?, ?, ?, ?, ?, ?)", rows)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return n

    # ------------------------------------------------------------------ messages
    def _set(
        self, mid: int, status: str, error: str | None = None, *, attempt: bool = False
    ) -> None:
        sent = _now() if status == "sent" else None
        self._db.execute(
            "UPDATE messages SET status = ?, last_error = COALESCE(?, last_error), "
            "attempts = attempts + ?, sent_at = COALESCE(?, sent_at) WHERE id = ?",
            (status, error, 1 if attempt else 0, sent, mid),
        )

    def mark_in_doubt(self, platform: str) -> int:
        """Messages left *sending* by a process that died: mark them *unknown* (never re-sent)."""
        cur = self._db.execute(
            "UPDATE messages SET status = 'unknown', last_error = "
            "'the sending process stopped before the reply was recorded' "
            "WHERE platform = ? AND status = 'sending'",
            (platform,),
        )
        return cur.rowcount

    def queued(self, platform: str) -> list[tuple[int, Message]]:
        """Messages waiting to be sent, oldest first."""
        rows = self._db.execute(
            "SELECT id, recipient, title, body, mention_ids, mention_mobiles FROM messages "
            "WHERE platform = ? AND status = 'queued' ORDER BY id",
            (platform,),
        ).fetchall()
        out = []
        for mid, recipient, title, body, ids, mobiles in rows:
            tids = tuple(
                r[0]
                for r in self._db.execute(
                    "SELECT task_id FROM message_tasks WHERE message_id = ? ORDER BY rowid", (mid,)
                )
            )
            out.append(
                (
                    mid,
                    Message(
                        recipient,
                        tids,
                        title or "",
                        body,
                        tuple(json.loads(ids or "[]")),
                        tuple(json.loads(mobiles or "[]")),
                    ),
                )
            )
        return out

    def counts(self, platform: str | None = None) -> dict[str, int]:
        """Messages per status."""
        sql = "SELECT status, COUNT(*) FROM messages"
        args: tuple[str, ...] = ()
        if platform:
            sql += " WHERE platform = ?"
            args = (platform,)
        return dict(self._db.execute(sql + " GROUP BY status", args).fetchall())


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    left_queued: int = 0
    in_doubt_from_before: int = 0
    errors: list[str] | None = None


def deliver(
    outbox: Outbox,
    robot: Robot,
    *,
    max_attempts: int = 5,
    base_wait: float = 2.0,
    max_wait: float = 120.0,
    min_interval: float = 3.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> DeliveryReport:
    """Send the queued messages of ``robot.platform``, each at most once.

    Parameters
    ----------
    outbox
        The outbox.
    robot
        Where to send.
    max_attempts
        Attempts per message in this run before leaving it queued for the next run.
    base_wait, max_wait
        Exponential backoff after a rate limit or a busy reply: ``base_wait``, doubled each
        time, at most ``max_wait`` seconds.
    min_interval
        Seconds between two messages (the robots take 20 a minute: 3 s).
    sleep, log
        Injected for tests; ``log`` never receives the URL or the secret.

    Returns
    -------
    DeliveryReport
    """
    rep = DeliveryReport(errors=[])
    rep.in_doubt_from_before = outbox.mark_in_doubt(robot.platform)
    if rep.in_doubt_from_before:
        log(
            f"{rep.in_doubt_from_before} message(s) were being sent when an earlier run stopped; "
            "they are marked unknown and not sent again (check the group)"
        )
    first = True
    for mid, msg in outbox.queued(robot.platform):
        if not first and min_interval > 0:
            sleep(min_interval)
        first = False
        waits = iter(iter_backoff(base_wait, max_attempts, max_wait))
        while True:
            outbox._set(mid, "sending", attempt=True)
            outcome = robot.send(msg)
            if outcome.status == "sent":
                outbox._set(mid, "sent")
                rep.sent += 1
                break
            if outcome.status == "failed":
                outbox._set(mid, "failed", outcome.detail)
                rep.failed += 1
                rep.errors.append(outcome.detail)
                log(f"message {mid} to {msg.recipient}: {outcome.detail}")
                break
            if outcome.status == "unknown":
                outbox._set(mid, "unknown", outcome.detail)
                rep.unknown += 1
                rep.errors.append(outcome.detail)
                log(f"message {mid} to {msg.recipient}: {outcome.detail}; not sent again")
                break
            wait = next(waits, None)
            outbox._set(mid, "queued", outcome.detail)
            if wait is None:
                rep.left_queued += 1
                rep.errors.append(outcome.detail)
                log(f"message {mid} to {msg.recipient}: {outcome.detail}; left for the next run")
                break
            log(f"message {mid}: {outcome.detail}; retrying in {wait:g} s")
            sleep(wait)
    return rep
