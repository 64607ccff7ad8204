"""Find or start PostgreSQL and Redis for the local stack and the test suite.

``ensure_services`` uses what is reachable (``DATABASE_URL`` / ``REDIS_URL``,
else a server answering on 127.0.0.1:5432 / 127.0.0.1:6379) and starts its own
for whatever is missing, or for both when ``own=True`` (``BILLING_OWN_SERVICES=1``).
Our own servers listen on free ports of 127.0.0.1 only and keep their state
under ``<root>/.local/pg`` and ``<root>/.local/redis``.

Whatever we start is stopped by ``Services.stop()`` (also registered with
``atexit``). Callers must still call ``stop()`` (or use the ``with`` form) on
their own shutdown paths: ``atexit`` does not run on SIGTERM/SIGKILL. Servers
run in their own session, so a Ctrl-C in the terminal reaches only us and we
decide how to stop them. If the parent dies hard, the next start finds the
orphans (owner files) and stops them.

Development and tests only: never imported by the Lambda functions.
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote, urlsplit, urlunsplit

import pg8000.native

from billing.ports.db import sqlstate

__all__ = ["Services", "ensure_services", "recreate_database", "free_port"]

Log = Callable[[str], object]

DEFAULT_PG = ("127.0.0.1", 5432)
DEFAULT_REDIS = ("127.0.0.1", 6379)
_DB_NAME = re.compile(r"^[a-z0-9_]{1,63}$")
_PG_TOOLS = ("initdb", "pg_ctl", "postgres")
_FALLBACK_PG_USER = "billing-pg"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.NNNNN"

_live: list["Services"] = []
_apt_updated = False


# --------------------------------------------------------------------------- public API


@dataclass
class Services:
    """Where the stack's PostgreSQL and Redis are, and what we started to get them."""

    database_url: str  # postgresql://user@host:port/<database>
    admin_database_url: str  # same server, database "postgres"
    redis_url: str  # redis://host:port/0
    started: list[str] = field(default_factory=list)
    _pg: "_PgServer | None" = field(default=None, repr=False, compare=False)
    _redis: "_RedisServer | None" = field(default=None, repr=False, compare=False)
    _log: Log = field(default=print, repr=False, compare=False)
    _owner_pid: int = field(default_factory=os.getpid, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def stop(self) -> None:
        """Stop only what this object started. Idempotent; a forked child never stops anything."""
        if os.getpid() != self._owner_pid:
            return
        with self._lock, _signals_deferred():
            errors: list[str] = []
            redis_srv, self._redis = self._redis, None
            pg_srv, self._pg = self._pg, None
            for srv in (redis_srv, pg_srv):
                if srv is None:
                    continue
                try:
                    srv.stop(self._log)
                except Exception as exc:  # keep going: stop the other one too
                    errors.append(f"{srv.name}: {exc}")
            for i, s in enumerate(_live):
                if s is self:
                    del _live[i]
                    break
            if errors:
                raise RuntimeError("devstack: could not stop cleanly: " + "; ".join(errors))

    def __enter__(self) -> "Services":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_services(root: Path, database: str, *, own: bool = False, log: Log = print) -> Services:
    """Find or start PostgreSQL and Redis, and make sure ``database`` exists."""
    _check_db_name(database)
    root = Path(root).resolve()
    services = Services(database_url="", admin_database_url="", redis_url="", _log=log)
    _live.append(services)
    try:
        admin_url = redis_url = None
        if not own:
            admin_url = _find_postgres(log)
            redis_url = _find_redis(log)
        else:
            log("devstack: own services requested, ignoring running ones")
        if admin_url is None:
            pg = _start_postgres(root, log)
            admin_url = f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
            if pg.owned:
                services._pg = pg
                services.started.append(pg.describe(root))
        if redis_url is None:
            rd = _start_redis(root, log)
            services._redis = rd
            services.started.append(rd.describe(root))
            redis_url = f"redis://127.0.0.1:{rd.port}/0"
        services.admin_database_url = admin_url
        services.database_url = _with_database(admin_url, database)
        services.redis_url = redis_url
        if _ensure_database(admin_url, database):
            log(f"devstack: created database {database}")
        return services
    except BaseException:
        with contextlib.suppress(Exception):
            services.stop()
        raise


def recreate_database(admin_database_url: str, name: str) -> None:
    """Drop ``name`` (kicking out its sessions) and create it again, empty."""
    _check_db_name(name)
    conn = pg8000.native.Connection(**_parse(admin_database_url), timeout=30)
    try:
        conn.run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()",
            name=name,
        )
        force = " WITH (FORCE)" if _server_major(conn) >= 13 else ""
        conn.run(f'DROP DATABASE IF EXISTS "{name}"{force}')
        conn.run(_create_database_sql(name))
    finally:
        conn.close()


# --------------------------------------------------------------------------- URLs and databases


def _parse(url: str) -> dict:
    """pg8000.native.Connection kwargs from a postgresql:// URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a postgresql:// URL: {url!r}")
    return {
        "user": unquote(parts.username) if parts.username else "postgres",
        "password": unquote(parts.password) if parts.password is not None else None,
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "database": unquote(parts.path.lstrip("/")) or "postgres",
    }


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _check_db_name(name: str) -> None:
    if not isinstance(name, str) or not _DB_NAME.match(name):
        raise ValueError(f"database name must match [a-z0-9_]{{1,63}}: {name!r}")


def _create_database_sql(name: str) -> str:
    # template0 + C collation: empty, and sorts identically on every laptop and on our own cluster.
    return f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"


def _server_major(conn: pg8000.native.Connection) -> int:
    return int(conn.run("SHOW server_version_num")[0][0]) // 10000


def _ensure_database(admin_url: str, name: str) -> bool:
    """Create ``name`` if missing; True when we created it."""
    try:
        conn = pg8000.native.Connection(**_parse(admin_url), timeout=30)
    except Exception as exc:
        raise RuntimeError(f"devstack: cannot connect to PostgreSQL at {_redact(admin_url)}: {exc}") from exc
    try:
        if conn.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            return False
        try:
            conn.run(_create_database_sql(name))
        except pg8000.native.DatabaseError as exc:
            if sqlstate(exc) == "42P04":  # created concurrently by someone else
                return False
            raise
        return True
    finally:
        conn.close()


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------- probing


def _pg_answers(url: str, timeout: float = 2.0) -> bool:
    try:
        conn = pg8000.native.Connection(**_parse(url), timeout=timeout)
    except Exception:
        return False
    try:
        return conn.run("SELECT 1") == [[1]]
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def _redis_client(url: str, timeout: float):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: redis-py's default retry policy turns one refused connection into ~4 s of backoff.
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


def _redis_answers(url: str, timeout: float = 2.0) -> bool:
    client = _redis_client(url, timeout)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            client.close()


def _find_postgres(log: Log) -> str | None:
    """Admin URL of a usable PostgreSQL, or None when we must start one."""
    env = os.environ.get("DATABASE_URL", "")
    if env:
        log(f"devstack: postgresql from DATABASE_URL ({_redact(_with_database(env, 'postgres'))})")
        return _with_database(env, "postgres")
    host, port = DEFAULT_PG
    url = f"postgresql://postgres@{host}:{port}/postgres"
    if _pg_answers(url):
        log(f"devstack: postgresql already running on {host}:{port}, using it")
        return url
    log(f"devstack: no postgresql on {host}:{port}")
    return None


def _find_redis(log: Log) -> str | None:
    env = os.environ.get("REDIS_URL", "")
    if env:
        if not _redis_answers(env):
            raise RuntimeError(f"devstack: REDIS_URL is set but does not answer PING: {_redact(env)}")
        log(f"devstack: redis from REDIS_URL ({_redact(env)})")
        return env
    host, port = DEFAULT_REDIS
    url = f"redis://{host}:{port}/0"
    if _redis_answers(url):
        log(f"devstack: redis already running on {host}:{port}, using it")
        return url
    log(f"devstack: no redis on {host}:{port}")
    return None


# --------------------------------------------------------------------------- process helpers


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    return env


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *cmd]
    return ["su", "-s", "/bin/sh", user, "-c", shlex.join(cmd)]


def _run(cmd: list[str], *, user: str | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    # New session: a Ctrl-C in the terminal must not reach initdb/pg_ctl/the postmaster.
    proc = subprocess.run(
        _as_user(cmd, user),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env=_child_env(),
        start_new_session=True,
    )
    if check and proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        raise RuntimeError(f"devstack: {Path(cmd[0]).name} failed ({proc.returncode}): {_tail_text(out)}")
    return proc


def _tail_text(text: str, lines: int = 15) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _tail(path: Path, offset: int = 0, lines: int = 15) -> str:
    """The last lines of ``path`` written after ``offset`` (logs are appended to across runs)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return _tail_text(fh.read().decode(errors="replace"), lines) or "(empty log)"
    except OSError:
        return "(no log)"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by init) counts as gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return stat_line.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)


def _proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _proc_cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while stopping servers; they are delivered (and raise) right after."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise two sessions setting up the same directory (initdb, stale pid handling)."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _apt_install(package: str, log: Log) -> bool:
    """apt-get install ``package`` when we are root on a Debian-like system; False if we cannot."""
    global _apt_updated
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [] if _apt_updated else [["apt-get", "update"]]
    steps.append(["apt-get", "install", "-y", "--no-install-recommends", package])
    for cmd in steps:
        log("devstack: running " + shlex.join(cmd))
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"devstack: {shlex.join(cmd)} failed: {_tail_text(proc.stdout + proc.stderr)}")
        if cmd[1] == "update":
            _apt_updated = True
    return True


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- PostgreSQL


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)) or (0,)


def _pg_major_of(bindir: Path) -> str:
    out = _run([str(bindir / "postgres"), "--version"]).stdout
    m = re.search(r"\)\s*(\d+)(?:\.(\d+))?", out) or re.search(r"(\d+)(?:\.(\d+))?", out)
    if not m:
        raise RuntimeError(f"devstack: cannot read PostgreSQL version from {out!r}")
    return m.group(1) if int(m.group(1)) >= 10 or not m.group(2) else f"{m.group(1)}.{m.group(2)}"


def _has_pg_tools(bindir: Path) -> bool:
    return all(os.access(bindir / t, os.X_OK) for t in _PG_TOOLS)


def _pg_bindirs() -> list[tuple[Path, str]]:
    """Candidate (bindir, major) pairs, best first."""
    found: list[tuple[Path, str]] = []
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: _version_key(Path(d).parent.name), reverse=True):
        if _has_pg_tools(Path(d)):
            found.append((Path(d), Path(d).parent.name))
    extra: list[Path] = []
    if shutil.which("pg_config"):
        with contextlib.suppress(Exception):
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
            if out:
                extra.append(Path(out))
    if shutil.which("initdb"):
        extra.append(Path(shutil.which("initdb")).resolve().parent)
    for d in extra:
        if _has_pg_tools(d) and all(d.resolve() != f.resolve() for f, _ in found):
            found.append((d, _pg_major_of(d)))
    return found


def _find_pg_bindir(want_major: str | None, log: Log) -> tuple[Path, str]:
    found = _pg_bindirs()
    if not found:
        if _apt_install("postgresql", log):
            found = _pg_bindirs()
        elif os.geteuid() != 0:
            raise RuntimeError(
                "devstack: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found. "
                "Install PostgreSQL (e.g. `sudo apt-get install postgresql`, `brew install postgresql`) "
                "or point DATABASE_URL at a running server."
            )
    if not found:
        raise RuntimeError("devstack: PostgreSQL server binaries not found and could not be installed")
    if want_major is not None:
        for bindir, major in found:
            if major == want_major:
                return bindir, major
        raise RuntimeError(
            f"devstack: the existing cluster needs PostgreSQL {want_major} but only "
            f"{', '.join(m for _, m in found)} is installed; remove the data directory to re-initialise"
        )
    return found[0]


def _pg_os_user(log: Log) -> str | None:
    """PostgreSQL refuses to run as root: pick (or create) an unprivileged user to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _FALLBACK_PG_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    log(f"devstack: creating system user {_FALLBACK_PG_USER} to run postgresql (it refuses to run as root)")
    proc = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", _FALLBACK_PG_USER],
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 9):  # 9: created meanwhile by someone else
        raise RuntimeError(f"devstack: useradd {_FALLBACK_PG_USER} failed: {proc.stderr.strip()}")
    return _FALLBACK_PG_USER


def _user_can(user: str, test_flag: str, path: Path) -> bool:
    return _run(["test", test_flag, str(path)], user=user, check=False, timeout=30).returncode == 0


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, filenames in os.walk(path):
            for n in dirnames + filenames:
                os.chown(os.path.join(dirpath, n), uid, gid, follow_symlinks=False)


def _ensure_dir_owned(path: Path, user: str | None) -> None:
    """Make ``path`` exist and, when running as root, belong to ``user`` (recursively if it did not)."""
    path.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    pw = pwd.getpwnam(user)
    if path.lstat().st_uid != pw.pw_uid:
        _chown_tree(path, pw.pw_uid, pw.pw_gid)


def _pg_base_dir(root: Path, user: str | None, log: Log) -> Path:
    """``root/.local/pg``, or a private temp dir when ``user`` cannot reach ``root``."""
    local = root / ".local"
    base = local / "pg"
    if user is None:
        base.mkdir(parents=True, exist_ok=True)
        return base
    root.mkdir(parents=True, exist_ok=True)
    if _user_can(user, "-x", root):
        for d in (local, base):  # only our own dirs get o+x; never a parent of root
            d.mkdir(exist_ok=True)
            mode = d.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(d, stat.S_IMODE(mode) | stat.S_IXOTH)
        _ensure_dir_owned(base, user)
        if _user_can(user, "-w", base):
            return base
    # A parent of root (e.g. a 0700 home or pytest's tmp dir) is closed to `user`: we do not chmod
    # what is not ours, so keep the cluster in a per-root temp dir that belongs to `user`.
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    pw = pwd.getpwnam(user)
    for tmp in dict.fromkeys([tempfile.gettempdir(), "/tmp", "/var/tmp"]):
        cand = Path(tmp) / f"billing-pg-{digest}"
        if not _user_can(user, "-x", Path(tmp)):
            continue
        try:
            cand.mkdir(mode=0o700)
            os.chown(cand, pw.pw_uid, pw.pw_gid)
        except FileExistsError:
            st = cand.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != pw.pw_uid:
                raise RuntimeError(f"devstack: {cand} exists but is not a directory owned by {user}; remove it")
        log(f"devstack: {user} cannot reach {root}; postgresql data goes to {cand}")
        return cand
    raise RuntimeError(f"devstack: no directory usable by {user} for the postgresql data (tried {root} and the temp dirs)")


@dataclass
class _PgServer:
    name = "postgresql"
    bindir: Path
    major: str
    base: Path
    user: str | None
    port: int = 0
    owned: bool = True

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def logfile(self) -> Path:
        return self.base / "log"

    @property
    def owner_file(self) -> Path:
        return self.base / "owner.json"

    def ctl(self, *args: str, check: bool = True, timeout: float = 90) -> subprocess.CompletedProcess:
        return _run([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args], user=self.user, check=check, timeout=timeout)

    def describe(self, root: Path) -> str:
        return f"postgresql {self.major} on 127.0.0.1:{self.port} ({_display(self.base, root)})"

    def postmaster(self) -> tuple[int, int] | None:
        """(pid, port) from postmaster.pid, or None."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            return int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, log: Log) -> None:
        pm = self.postmaster()
        if pm is None:
            log("devstack: postgresql already stopped")
        else:
            proc = self.ctl("-m", "fast", "-w", "-t", "30", "stop", check=False)
            if proc.returncode != 0 and self.postmaster() is not None and _pid_alive(pm[0]):
                log(f"devstack: pg_ctl stop failed, sending SIGQUIT to postmaster {pm[0]}")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pm[0], signal.SIGQUIT)
                if not _wait_gone(pm[0], 10):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pm[0], signal.SIGKILL)
                    _wait_gone(pm[0], 5)
            if not _wait_gone(pm[0], 10) and _proc_cwd(pm[0]) in (None, str(self.data.resolve())):
                raise RuntimeError(f"postmaster {pm[0]} still running")
            log(f"devstack: stopped postgresql on 127.0.0.1:{self.port}")
        with contextlib.suppress(OSError):
            self.owner_file.unlink()


def _live_postmaster(pg: _PgServer, log: Log) -> tuple[int, int] | None:
    """A postmaster really running on our data dir as (pid, port); removes a stale postmaster.pid."""
    pm = pg.postmaster()
    if pm is None:
        if (pg.data / "postmaster.pid").exists():
            log("devstack: removing unreadable postmaster.pid")
            (pg.data / "postmaster.pid").unlink()
        return None
    pid, port = pm
    running = pg.ctl("status", check=False).returncode == 0
    cwd = _proc_cwd(pid)
    if running and cwd is not None and cwd != str(pg.data.resolve()):
        running = False  # the pid was reused by an unrelated process (e.g. after a container restart)
    if running and _proc_comm(pid) not in (None, "postgres", "postmaster"):
        running = False
    if not running:
        log(f"devstack: removing stale postmaster.pid (pid {pid} is gone)")
        with contextlib.suppress(FileNotFoundError):
            (pg.data / "postmaster.pid").unlink()
        return None
    return pid, port


def _owner_alive(path: Path) -> bool:
    try:
        owner = int(json.loads(path.read_text())["owner"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return _pid_alive(owner)


def _write_owner(path: Path, **extra: object) -> None:
    path.write_text(json.dumps({"owner": os.getpid(), **extra}))


def _start_postgres(root: Path, log: Log) -> _PgServer:
    user = _pg_os_user(log)
    base = _pg_base_dir(root, user, log)
    data = base / "data"
    pg_version = data / "PG_VERSION"
    want = pg_version.read_text().strip() if pg_version.is_file() else None
    bindir, major = _find_pg_bindir(want, log)
    pg = _PgServer(bindir=bindir, major=major, base=base, user=user)

    with _file_lock(base / ".lock"):
        live = _live_postmaster(pg, log)
        if live is not None:
            pid, port = live
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            if _owner_alive(pg.owner_file) and _pg_answers(url):
                # Another session of ours (make run next to make test) owns it: share, never stop it.
                log(f"devstack: postgresql already running from {_display(base, root)} on 127.0.0.1:{port} (pid {pid}), sharing it")
                pg.port, pg.owned = port, False
                return pg
            log(f"devstack: stopping orphaned postgresql (pid {pid}) left by a previous run")
            pg.port = port
            pg.stop(log)

        if not pg_version.is_file():
            if data.exists():
                log(f"devstack: removing incomplete cluster in {_display(data, root)}")
                shutil.rmtree(data)
            log(f"devstack: initdb postgresql {major} in {_display(data, root)}")
            _run(
                [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                 "--encoding", "UTF8", "--locale", "C", "--no-sync"],
                user=user,
                timeout=180,
            )
        else:
            log(f"devstack: reusing cluster in {_display(data, root)}")
            if user is not None:
                _ensure_dir_owned(data, user)

        sockdir = base / "run"
        _ensure_dir_owned(sockdir, user)
        for stale in sockdir.glob(".s.PGSQL.*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        if len(str(sockdir)) <= _SOCKET_PATH_MAX - len("/.s.PGSQL.65535"):
            sock_opt = f"-k {shlex.quote(str(sockdir))}"
        else:
            sock_opt = "-c unix_socket_directories=''"  # path too long for a unix socket: TCP only
        if user is not None and not pg.logfile.exists():
            pg.logfile.touch()
            pw = pwd.getpwnam(user)
            os.chown(pg.logfile, pw.pw_uid, pw.pw_gid)

        for attempt in range(3):
            pg.port = free_port()
            # fsync/synchronous_commit/full_page_writes off: a throwaway dev/test server, speed over durability.
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {pg.port} {sock_opt} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            log(f"devstack: starting postgresql {major} on 127.0.0.1:{pg.port}" + (f" as {user}" if user else ""))
            offset = _size(pg.logfile)
            try:
                proc = pg.ctl("-l", str(pg.logfile), "-o", opts, "-w", "-t", "60", "start", check=False)
                if proc.returncode == 0:
                    _write_owner(pg.owner_file, port=pg.port)
                    return pg
            except BaseException:  # Ctrl-C during start: the postmaster may already be up
                with contextlib.suppress(Exception):
                    if pg.postmaster() is not None:
                        pg.stop(lambda _msg: None)
                raise
            with contextlib.suppress(Exception):  # e.g. pg_ctl gave up waiting on a slow start
                if pg.postmaster() is not None:
                    pg.stop(lambda _msg: None)
            tail = _tail(pg.logfile, offset)
            if "already in use" in tail and attempt < 2:
                continue  # lost the race for the port; pick another
            raise RuntimeError(
                f"devstack: postgresql failed to start (pg_ctl: {(proc.stdout + proc.stderr).strip()})\n"
                f"--- {pg.logfile} ---\n{tail}\n(remove {base} to re-initialise)"
            )
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- Redis


def _find_redis_server(log: Log) -> str:
    for cand in (shutil.which("redis-server"), "/usr/bin/redis-server", "/usr/local/bin/redis-server"):
        if cand and os.access(cand, os.X_OK):
            return cand
    if _apt_install("redis-server", log):
        found = shutil.which("redis-server") or "/usr/bin/redis-server"
        if os.access(found, os.X_OK):
            return found
    raise RuntimeError(
        "devstack: redis-server not found. Install Redis (e.g. `sudo apt-get install redis-server`, "
        "`brew install redis`) or point REDIS_URL at a running server."
    )


@dataclass
class _RedisServer:
    name = "redis"
    proc: subprocess.Popen
    port: int
    version: str
    dir: Path

    @property
    def run_file(self) -> Path:
        return self.dir / f"run-{self.port}.json"

    def describe(self, root: Path) -> str:
        return f"redis {self.version} on 127.0.0.1:{self.port} ({_display(self.dir, root)})"

    def stop(self, log: Log) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                client = _redis_client(f"redis://127.0.0.1:{self.port}/0", 2)
                client.shutdown(nosave=True)
                client.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            log(f"devstack: stopped redis on 127.0.0.1:{self.port}")
        with contextlib.suppress(OSError):
            self.run_file.unlink()


def _reap_orphan_redis(rdir: Path, log: Log) -> None:
    """Stop redis servers left by a parent that died without calling stop()."""
    for f in rdir.glob("run-*.json"):
        try:
            info = json.loads(f.read_text())
            owner, pid = int(info["owner"]), int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _pid_alive(owner):
            continue
        comm = _proc_comm(pid)
        if _pid_alive(pid) and comm is not None and comm.startswith("redis-server"):
            log(f"devstack: stopping orphaned redis (pid {pid}) left by a previous run")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 5):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            f.unlink()


def _wait_redis(proc: subprocess.Popen, url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _redis_answers(url, timeout=0.5):
            return True
        time.sleep(0.05)
    return False


def _start_redis(root: Path, log: Log) -> _RedisServer:
    binary = _find_redis_server(log)
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"v=(\S+)", out)
    version = m.group(1) if m else "?"
    rdir = root / ".local" / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    _reap_orphan_redis(rdir, log)
    logfile = rdir / "redis.log"
    for attempt in range(3):
        port = free_port()
        log(f"devstack: starting redis {version} on 127.0.0.1:{port}")
        offset = _size(logfile)
        with open(logfile, "ab") as fh:
            proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(rdir), "--daemonize", "no"],
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; stop() shuts it down
            )
        server = _RedisServer(proc=proc, port=port, version=version, dir=rdir)
        try:
            _write_owner(server.run_file, pid=proc.pid, port=port)
            if _wait_redis(proc, f"redis://127.0.0.1:{port}/0", timeout=10):
                return server
        except BaseException:  # Ctrl-C or a bug while waiting: do not leave it behind
            with contextlib.suppress(Exception):
                server.stop(lambda _msg: None)
            raise
        if proc.poll() is None:
            with contextlib.suppress(Exception):
                server.stop(lambda _msg: None)
            reason = "did not answer PING within 10 s"
        else:
            with contextlib.suppress(OSError):
                server.run_file.unlink()
            reason = f"exited with {proc.returncode}"
        tail = _tail(logfile, offset)
        if "already in use" in tail and attempt < 2:
            continue
        raise RuntimeError(f"devstack: redis-server {reason}\n--- {logfile} ---\n{tail}")
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- exit


@atexit.register
def _stop_all() -> None:
    for services in list(_live):
        try:
            services.stop()
        except Exception as exc:  # never turn interpreter exit into a traceback storm
            with contextlib.suppress(Exception):
                services._log(str(exc))
