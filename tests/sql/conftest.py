"""A real PostgreSQL server for the SQL-source tests, started once per session.

Debian's ``postgresql`` package provides ``initdb`` and ``pg_ctl`` under
``/usr/lib/postgresql/<version>/bin``. The server runs from a temporary folder on a
free loopback port with its socket in that folder; TCP logins need a password
(scram-sha-256), so the credential paths are exercised for real. ``initdb`` refuses
to run as root: as root the server runs as the ``postgres`` user the package creates
(else ``nobody``) through ``runuser``. Without the binaries (or SQLAlchemy/psycopg)
every test here is skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/")[4])
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    """A running server: connect with ``url`` (no password) and ``password``."""

    host: str
    port: int
    user: str
    password: str
    database: str
    folder: Path

    @property
    def url(self) -> str:
        """The URL without password (what a dataset.yaml holds)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{self.database}"

    def engine(self):
        """An engine with the password, for loading test tables."""
        import sqlalchemy as sa

        u = sa.engine.make_url(self.url).set(password=self.password)
        return sa.create_engine(u, poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start PostgreSQL in a temporary folder for the session; stop and remove it after."""
    pytest.importorskip("sqlalchemy", reason="SQLAlchemy is not installed (pip install .[sql])")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install .[sql])")
    bindir = _bin_dir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.skip(
            "PostgreSQL server binaries not found (apt-get install postgresql); "
            "looked in /usr/lib/postgresql/*/bin and PATH"
        )
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="salesml-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        user = None
        for name in ("postgres", "nobody"):
            try:
                user = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        if runuser is None or user is None:
            shutil.rmtree(folder, ignore_errors=True)
            pytest.skip("running as root without runuser or a postgres/nobody user for initdb")
        os.chmod(folder, 0o700)
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = [runuser, "-u", user.pw_name, "--"]
    password = secrets.token_urlsafe(18)
    pwfile = folder / "pw"
    pwfile.write_text(password + "\n")
    if prefix:
        os.chown(pwfile, pwd.getpwnam(prefix[2]).pw_uid, -1)
    pwfile.chmod(0o600)
    data = folder / "data"
    port = _free_port()

    def run(*cmd: str) -> None:
        got = subprocess.run(
            [*prefix, *cmd], capture_output=True, text=True, timeout=120, check=False
        )
        if got.returncode:
            log = folder / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{cmd[0]} failed: {got.stderr[-2000:]}{tail}")

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "salesml",
            "--pwfile",
            str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        )
        pwfile.unlink()
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield PgServer("127.0.0.1", port, "salesml", password, "postgres", folder)
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_tiny(pg_server: PgServer, tiny_dataset: Path) -> PgServer:
    """The shared tiny dataset loaded into the server, one SQL table per model table."""
    from salesml.data.io import load_dataset

    data = load_dataset(tiny_dataset, progress=False)
    engine = pg_server.engine()
    try:
        for name, df in data.tables.items():
            df.to_sql(name, engine, if_exists="replace", index=False, chunksize=5000)
    finally:
        engine.dispose()
    return pg_server


@pytest.fixture
def pg_env(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PgServer:
    """The password in ``PGPASSWORD`` (as a user would set it); no stray .pgpass or URL."""
    for var in ("SALESML_DB_URL", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    monkeypatch.setenv("HOME", str(tmp_path))
    return pg_server
