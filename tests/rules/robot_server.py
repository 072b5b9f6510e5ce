"""A local HTTP server on 127.0.0.1 imitating the WeCom group robot and the DingTalk custom robot.

Paths: ``/cgi-bin/webhook/send?key=K`` (WeCom) and ``/robot/send?access_token=T`` (DingTalk,
with ``timestamp`` and ``sign`` when the robot has a secret). Replies follow the robots'
documented shapes: ``{"errcode": 0, "errmsg": "ok"}``; WeCom 40058 for markdown content over
4096 bytes, 45009 over the rate; DingTalk 310000 for a bad signature, 130101 over the rate;
93000 for an unknown key or token.

``plan`` is a list of behaviours used one per request before the default ``ok``:
``"ok"``, ``("errcode", N)``, ``("http", status)``, ``("sleep", seconds)`` (answer late).
``kill_after`` = (pid, n): after answering the n-th delivered message, SIGKILL ``pid``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WECOM_KEY = "test-key-0001"
DINGTALK_TOKEN = "test-token-0001"
DINGTALK_SECRET = "SECtest-secret-0001"


class RobotState:
    def __init__(self) -> None:
        self.plan: list[Any] = []
        self.delivered: list[dict[str, Any]] = []  # accepted messages
        self.requests: list[dict[str, Any]] = []  # every request
        self.kill_after: tuple[int, int] | None = None
        self.rate_limit: int | None = None  # messages per minute
        self.lock = threading.Lock()


def _sign_ok(query: dict[str, list[str]]) -> bool:
    ts = query.get("timestamp", [""])[0]
    sign = query.get("sign", [""])[0]
    if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3600_000:
        return False
    digest = hmac.new(
        DINGTALK_SECRET.encode(), f"{ts}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
    ).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign)


def make_handler(state: RobotState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any] | None) -> None:
            raw = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            self.wfile.flush()

        def do_POST(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            size = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(size)
            try:
                payload = json.loads(raw.decode("utf-8"))
            except ValueError:
                payload = None
            platform = "wecom" if parts.path == "/cgi-bin/webhook/send" else "dingtalk"
            with state.lock:
                state.requests.append({"platform": platform, "query": query, "payload": payload})
                step = state.plan.pop(0) if state.plan else "ok"
            if isinstance(step, tuple) and step[0] == "sleep":
                time.sleep(step[1])
                step = "ok"
            if isinstance(step, tuple) and step[0] == "http":
                self._reply(step[1], {"error": "imitated"})
                return
            if isinstance(step, tuple) and step[0] == "errcode":
                self._reply(200, {"errcode": step[1], "errmsg": "imitated error"})
                return
            if platform == "wecom":
                if query.get("key", [""])[0] != WECOM_KEY:
                    self._reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
                    return
                content = (payload or {}).get("markdown", {}).get("content", "")
                if len(content.encode("utf-8")) > 4096:
                    self._reply(
                        200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
                    )
                    return
            else:
                if query.get("access_token", [""])[0] != DINGTALK_TOKEN:
                    self._reply(200, {"errcode": 300001, "errmsg": "token is not exist"})
                    return
                if not _sign_ok(query):
                    self._reply(200, {"errcode": 310000, "errmsg": "sign not match"})
                    return
                if size > 20000:
                    self._reply(200, {"errcode": 460101, "errmsg": "message too long"})
                    return
            with state.lock:
                if state.rate_limit is not None:
                    recent = [d for d in state.delivered if d["at"] > time.time() - 60]
                    if len(recent) >= state.rate_limit:
                        code = 45009 if platform == "wecom" else 130101
                        self._reply(200, {"errcode": code, "errmsg": "send too fast"})
                        return
                state.delivered.append(
                    {"platform": platform, "payload": payload, "at": time.time()}
                )
                n = len(state.delivered)
            self._reply(200, {"errcode": 0, "errmsg": "ok"})
            if state.kill_after and n == state.kill_after[1]:
                os.kill(state.kill_after[0], signal.SIGKILL)

    return Handler


class RobotServer:
    def __init__(self) -> None:
        self.state = RobotState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.state))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def wecom_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key={WECOM_KEY}"

    @property
    def dingtalk_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token={DINGTALK_TOKEN}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
