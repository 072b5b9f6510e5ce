"""The Voila server ``salesml serve`` runs: Voila with the rules of :mod:`salesml.apps.security`.

Run as ``python -m salesml.apps.voila_app [voila options]`` (``salesml serve`` builds
the command line). On top of Voila it

- answers only to this machine's names (:func:`~salesml.apps.security.host_allowed`,
  every request) and refuses websockets from another origin;
- requires the token (from ``$SALESML_SERVE_TOKEN``, removed from the environment
  before any kernel starts) and answers 403 without it instead of a login form;
- caps kernels per server and per client (429 / 503 with a page saying why);
- culls kernels with no open tab after ``cull_idle_timeout`` and kernels whose tab
  is open but untouched after ``SalesmlKernelManager.cull_connected_timeout``;
- accepts only the v1 kernel websocket protocol, bounds the message rate, the
  ``request_states`` rate and the bytes queued for a client that does not read;
- drops kernel tracebacks and stderr on their way to the browser and shows generic
  error pages (no traceback, no path);
- on SIGTERM/SIGINT stops the loop, kills the kernels and exits within seconds.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import tornado.web
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import ensure_async
from tornado import web
from traitlets import Float, Int, List, Unicode
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from salesml.apps.security import (
    V1_PROTOCOL,
    KernelLimits,
    TokenBucket,
    allowed_hostnames,
    host_allowed,
    origin_allowed,
)
from salesml.i18n import t

__all__ = ["TOKEN_ENV", "SalesmlKernelManager", "SalesmlVoila", "main"]

log = logging.getLogger(__name__)

#: Environment variable that carries the token from ``salesml serve`` to the server
#: (not the command line, which every local user can read).
TOKEN_ENV = "SALESML_SERVE_TOKEN"
#: The remote address of the page request being served (set by the page handler,
#: read by the kernel manager wrappers that record who holds which kernel).
_CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("salesml_client", default=None)


class Refused(web.HTTPError):
    """A request refused on purpose; the page shows the catalog message ``server.refused.<why>``."""

    def __init__(self, status: int, why: str, **values: Any) -> None:
        super().__init__(status, f"refused: {why}")
        self.why = why
        self.values = values


def _lang(handler: tornado.web.RequestHandler) -> str:
    accept = handler.request.headers.get("Accept-Language", "")
    return "zh" if accept.strip().lower().startswith("zh") else "en"


def error_page(status: int, message: str, lang: str) -> str:
    """A self-contained error page: the status and one sentence, nothing from the exception."""
    title = html.escape(t("server.page.title", lang))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{status} · {title}</title></head>"
        '<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">'
        f'<h1>{status}</h1><p class="salesml-server-message">{html.escape(message)}</p>'
        "</body></html>"
    )


class GenericErrorMixin:
    """Error pages without tracebacks, exception texts or paths; 403 instead of a login form."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        handler: Any = self
        lang = _lang(handler)
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Refused):
            message = t(f"server.refused.{exc.why}", lang, **exc.values)
        elif status_code == 404:
            message = t("server.error.404", lang)
        else:
            message = t("server.error.generic", lang)
        handler.set_header("Content-Type", "text/html; charset=utf-8")
        handler.finish(error_page(status_code, message, lang))

    def get_login_url(self) -> str:
        raise Refused(403, "token")


class BadHostHandler(GenericErrorMixin, tornado.web.RequestHandler):
    """What a request with a foreign ``Host`` header gets, whatever its path."""

    def prepare(self) -> None:
        log.warning("refused a request for host %r", self.request.host)
        raise Refused(403, "host")


class NotFoundHandler(GenericErrorMixin, tornado.web.RequestHandler):
    """What a path no handler serves gets (the same page as every other 404)."""

    def prepare(self) -> None:
        raise web.HTTPError(404)


class GuardedApplication(tornado.web.Application):
    """A tornado application that checks the ``Host`` header before routing any request."""

    def find_handler(self, request: Any, **kwargs: Any) -> Any:
        bind = self.settings.get("salesml_bind", "127.0.0.1")
        names = self.settings.get("salesml_hostnames", frozenset())
        if not host_allowed(request.headers.get("Host"), bind, names):
            return self.get_handler_delegate(request, BadHostHandler)
        return super().find_handler(request, **kwargs)


class SafeVoilaHandler(GenericErrorMixin, TornadoVoilaHandler):
    """The page handler: token required (403), kernel caps checked before a kernel starts."""

    async def get(self, path: str | None = None) -> None:
        if not self.current_user:
            raise Refused(403, "token")
        limits: KernelLimits = self.settings["salesml_limits"]
        limits.prune(self.kernel_manager.list_kernel_ids())
        client = self.request.remote_ip or "?"
        why = limits.admit(client)
        if why == "client":
            idle = self.settings.get("salesml_cull_idle", 0)
            raise Refused(429, "client", n=limits.max_per_client, idle=idle)
        if why == "server":
            raise Refused(503, "server", n=limits.max_total)
        token = _CLIENT.set(client)
        try:
            async for snippet in self.get_generator(path=path):
                self.write(snippet)
                self.flush()
        finally:
            _CLIENT.reset(token)
            limits.release(client)


def _touch(km: Any, kernel_id: str) -> None:
    """Mark a kernel handed to a page as active now.

    A pre-heated kernel last worked when it executed its notebook, possibly minutes
    ago; without this the culler could shut it down between the page request and
    the browser's websocket (0 connections, idle past ``cull_idle_timeout``).
    """
    from jupyter_server._tz import utcnow

    with contextlib.suppress(KeyError, AttributeError):
        km.get_kernel(kernel_id).last_activity = utcnow()


def _v1_parts(message: bytes) -> list[bytes]:
    """The parts of a v1 kernel websocket message: channel, header, parent, metadata, content...

    The message starts with the number of offsets and the offsets (8 bytes each,
    little-endian); the last offset is the end of the message.
    """
    n = int.from_bytes(message[:8], "little")
    if n < 2 or 8 * (n + 1) > len(message):
        return []
    offsets = [int.from_bytes(message[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(n)]
    return [message[offsets[i] : offsets[i + 1]] for i in range(n - 1)]


def hidden_from_viewers(message: bytes | str | dict[str, Any]) -> bool:
    """Whether a kernel message carries a traceback or stderr text (never sent to the browser)."""
    if isinstance(message, bytes):
        parts = _v1_parts(message)
        if len(parts) < 5:
            return False
        head, content = parts[1], parts[4]
        if b'"error"' in head:
            return json.loads(head).get("msg_type") == "error"
        if b'"stream"' in head and b"stderr" in content:
            return json.loads(content).get("name") == "stderr"
        return False
    msg = json.loads(message) if isinstance(message, str) else message
    kind = (msg.get("header") or {}).get("msg_type")
    return kind == "error" or (
        kind == "stream" and (msg.get("content") or {}).get("name") == "stderr"
    )


def _is_request_states(message: bytes | str) -> bool:
    raw = message if isinstance(message, bytes) else message.encode("utf-8", "replace")
    if b"request_states" not in raw:
        return False
    parts = _v1_parts(raw) if isinstance(message, bytes) else []
    try:
        content = json.loads(parts[4]) if len(parts) >= 5 else json.loads(raw).get("content", {})
    except (ValueError, AttributeError):
        return False
    data = content.get("data") if isinstance(content, dict) else None
    return isinstance(data, dict) and data.get("method") == "request_states"


class SafeKernelWebsocketHandler(GenericErrorMixin, VoilaKernelWebsocketHandler):
    """The kernel websocket: v1 protocol only, same origin only, bounded in and out."""

    def check_origin(self, origin: str | None = None) -> bool:
        ok = origin_allowed(
            self.get_origin(),
            self.request.headers.get("Host"),
            self.settings.get("salesml_bind", "127.0.0.1"),
            self.settings.get("salesml_hostnames", frozenset()),
        )
        if not ok:
            log.warning("refused a kernel websocket from origin %r", self.get_origin())
        return ok

    async def get(self, kernel_id: str) -> None:  # type: ignore[override]
        offered = [
            p.strip() for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        ]
        if V1_PROTOCOL not in offered:
            log.warning(
                "refused a legacy-protocol kernel websocket from %s", self.request.remote_ip
            )
            raise Refused(400, "legacy")
        s = self.settings
        self._salesml_in = TokenBucket(s["salesml_ws_rate"], s["salesml_ws_burst"])
        self._salesml_states = TokenBucket(1 / 10, 3)
        self._salesml_dropped = 0
        self._salesml_queued = 0
        await super().get(kernel_id)

    def on_message(self, message: bytes | str) -> Any:
        if not self._salesml_in.take() or (
            _is_request_states(message) and not self._salesml_states.take()
        ):
            self._salesml_dropped += 1
            if self._salesml_dropped in (1, 100):
                log.warning("kernel websocket from %s over its rate", self.request.remote_ip)
            if self._salesml_dropped > self.settings["salesml_ws_drop_close"]:
                self.close(1008, "too many messages")
            return None
        return super().on_message(message)

    def write_message(self, message: Any, binary: bool = False) -> Any:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return None
        if hidden_from_viewers(message):
            log.info("kept a kernel traceback/stderr message from the browser")
            return None
        size = len(message) if isinstance(message, (bytes, str)) else 0
        if self._salesml_queued + size > self.settings["salesml_ws_queue_bytes"]:
            log.warning(
                "closing the kernel websocket of %s: %d bytes queued and not read",
                self.request.remote_ip,
                self._salesml_queued,
            )
            self.close(1008, "client does not read")
            return None
        fut = super().write_message(message, binary)
        if fut is not None and size:
            self._salesml_queued += size

            def done(_: Any) -> None:
                self._salesml_queued -= size

            fut.add_done_callback(done)
        return fut


class SalesmlKernelManager(AsyncMappingKernelManager):
    """Culls idle kernels: those without a tab after ``cull_idle_timeout``, open tabs later."""

    cull_connected_timeout = Int(
        600,
        config=True,
        help="Seconds an idle kernel whose tab is still open is kept (0: as long as it is open).",
    )

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        kernel = self._kernels.get(kernel_id)
        if kernel is None:
            return
        connected = self._kernel_connections.get(kernel_id, 0)
        if connected and getattr(kernel, "execution_state", None) != "dead":
            if not self.cull_connected_timeout or not hasattr(kernel, "last_activity"):
                return
            from jupyter_server._tz import utcnow

            if utcnow() - kernel.last_activity < timedelta(seconds=self.cull_connected_timeout):
                return
        await super().cull_kernel_if_idle(kernel_id)


class _QuietTrust(logging.Filter):
    """Drop "Notebook ... is not trusted": app pages never run the browser-side outputs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is not trusted" not in str(record.msg)


class SalesmlVoila(Voila):
    """Voila with the host, token, kernel, websocket and shutdown rules of ``salesml serve``."""

    name = "salesml-serve"
    allow_hosts = List(Unicode(), config=True, help="Extra host names the Host header may carry.")
    max_kernels = Int(8, config=True, help="Kernels serving viewers at once (0: no limit).")
    max_kernels_per_client = Int(3, config=True, help="Kernels one remote address may hold.")
    ws_rate = Float(100.0, config=True, help="Websocket messages per second a viewer may send.")
    ws_burst = Float(1000.0, config=True, help="Websocket messages a viewer may send in a burst.")
    ws_queue_bytes = Int(
        32 * 2**20, config=True, help="Bytes queued for a viewer that does not read before closing."
    )
    ws_max_message_bytes = Int(4 * 2**20, config=True, help="Largest websocket message accepted.")
    stop_grace = Float(6.0, config=True, help="Seconds to stop cleanly before kernels are killed.")

    def initialize(self, argv: list[str] | None = None) -> None:
        token = os.environ.pop(TOKEN_ENV, None)
        super().initialize(argv)
        if token:
            self.token = token
        signal.signal(signal.SIGINT, self._handle_signal_stop)
        logging.getLogger("ServerApp").addFilter(_QuietTrust())
        self.log.addFilter(_QuietTrust())

    def init_settings(self) -> dict[str, Any]:
        settings = super().init_settings()
        limits = KernelLimits(self.max_kernels, self.max_kernels_per_client)
        km = self.kernel_manager
        self.contents_manager.log.addFilter(_QuietTrust())
        original_start: Callable[..., Any] = km.start_kernel

        async def start_kernel(*args: Any, **kwargs: Any) -> str:
            kernel_id = await ensure_async(original_start(*args, **kwargs))
            client = _CLIENT.get()
            if client is not None:
                limits.bind(kernel_id, client)
            return kernel_id

        km.start_kernel = start_kernel
        original_rendered = getattr(km, "get_rendered_notebook", None)
        if original_rendered is not None:

            async def get_rendered_notebook(*args: Any, **kwargs: Any) -> Any:
                client = _CLIENT.get()
                token = _CLIENT.set(None)  # the pool refill it triggers belongs to nobody
                try:
                    result = await original_rendered(*args, **kwargs)
                finally:
                    _CLIENT.reset(token)
                if client is not None:
                    limits.bind(result[2], client)
                _touch(km, result[2])
                return result

            km.get_rendered_notebook = get_rendered_notebook
        settings.update(
            allow_remote_access=False,
            local_hostnames=sorted(self._hostnames()),
            salesml_bind=self.ip,
            salesml_hostnames=self._hostnames(),
            salesml_limits=limits,
            salesml_cull_idle=int(getattr(km, "cull_idle_timeout", 0) or 0),
            salesml_ws_rate=self.ws_rate,
            salesml_ws_burst=self.ws_burst,
            salesml_ws_drop_close=int(self.ws_burst) * 5,
            salesml_ws_queue_bytes=self.ws_queue_bytes,
            websocket_max_message_size=self.ws_max_message_bytes,
            serve_traceback=False,
            default_handler_class=NotFoundHandler,
        )
        return settings

    def _hostnames(self) -> frozenset[str]:
        return allowed_hostnames(self.ip, self.allow_hosts)

    def init_handlers(self) -> list[Any]:
        replace: dict[type, type] = {
            TornadoVoilaHandler: SafeVoilaHandler,
            VoilaKernelWebsocketHandler: SafeKernelWebsocketHandler,
        }
        out = []
        for pattern, cls, *rest in super().init_handlers():
            cls = replace.get(cls) or _with_generic_errors(cls)
            out.append((pattern, cls, *rest))
        return out

    def start(self) -> None:
        self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
        settings = self.init_settings()
        self.app = GuardedApplication(**settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers(".*$", self.init_handlers())
        self.listen()

    def _handle_signal_stop(self, sig: int, frame: Any) -> None:
        self.log.info("salesml serve: stopping (signal %s)", sig)
        threading.Thread(target=self._last_resort, daemon=True).start()
        self.ioloop.add_callback_from_signal(self.ioloop.stop)

    def _kernel_pids(self) -> list[int]:
        pids = []
        for kid in list(getattr(self.kernel_manager, "_kernels", {})):
            km = self.kernel_manager._kernels.get(kid)
            pid = getattr(getattr(km, "provisioner", None), "pid", None)
            if pid:
                pids.append(int(pid))
        return pids

    def _last_resort(self) -> None:
        """If the clean stop takes longer than ``stop_grace``, kill the kernels and exit."""
        threading.Event().wait(self.stop_grace)
        for pid in self._kernel_pids():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # each kernel leads its own session
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        os._exit(0)

    def stop(self) -> None:
        import shutil

        from jupyter_core.utils import run_sync

        shutil.rmtree(self.connection_dir, ignore_errors=True)
        run_sync(self.kernel_manager.shutdown_all)(now=True)


_WRAPPED: dict[type, type] = {}


def _with_generic_errors(cls: type) -> type:
    if not issubclass(cls, tornado.web.RequestHandler) or issubclass(cls, GenericErrorMixin):
        return cls
    if cls not in _WRAPPED:
        _WRAPPED[cls] = type(cls.__name__, (GenericErrorMixin, cls), {})
    return _WRAPPED[cls]


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m salesml.apps.voila_app``."""
    SalesmlVoila.launch_instance(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
