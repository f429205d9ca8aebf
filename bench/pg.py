"""A throwaway PostgreSQL cluster for benchmarks: a private temp directory, a unix socket, no
TCP listener, removed on exit. Durable by default (fsync and synchronous_commit on), because
benchmarks measure what production would see.

    from bench.pg import throwaway_postgres

    with throwaway_postgres() as database_url:
        os.environ["DATABASE_URL"] = database_url
        ...

initdb refuses to run as root, so as root the cluster belongs to the postgres OS user (as in
.ci/run). The server runs in its own session: a Ctrl-C in the terminal reaches the benchmark,
whose cleanup stops it, rather than killing it mid-run.
"""

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The port only names the socket file inside the private directory; it cannot clash.
PORT = 5439


def postgres_bin():
    """The directory of the server binaries: PostgreSQL 15 (what production runs) if installed,
    else the newest one."""
    candidates = ["/usr/lib/postgresql/15/bin"]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        candidates.append(
            subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for directory in candidates:
        if directory and os.access(Path(directory) / "initdb", os.X_OK):
            return Path(directory)
    raise RuntimeError("No PostgreSQL server found (apt-get install postgresql-15).")


@contextlib.contextmanager
def throwaway_postgres(*, conf=None, database="dealercrm", user="dealercrm", log=None):
    """Start a cluster, create `database` owned by the superuser `user`, yield its URL
    (postgres://user@%2Ftmp%2Fbench-pg.x:5439/database), then stop the cluster and delete it.

    `conf` adds postgresql.conf lines, e.g. {"shared_buffers": "256MB"}; values are written
    as given. `log` receives progress lines (default: stderr).
    """
    log = log or (lambda line: print(line, file=sys.stderr))
    pg_bin = postgres_bin()
    as_root = os.geteuid() == 0
    # Short path: unix socket paths are limited to ~107 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="bench-pg.", dir="/tmp"))
    data = tmp / "data"
    started = False

    def run(*argv, **kwargs):
        argv = [str(a) for a in argv]
        if as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, cwd=tmp, check=True, **kwargs)

    try:
        if as_root:
            shutil.chown(tmp, "postgres", "postgres")
        run(pg_bin / "initdb", "-D", data, "-U", user, "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", stdout=subprocess.DEVNULL)  # fmt: skip
        settings = {"listen_addresses": "''", "unix_socket_directories": f"'{tmp}'", "port": PORT}
        settings.update(conf or {})
        with open(data / "postgresql.conf", "a") as f:
            f.writelines(f"{name} = {value}\n" for name, value in settings.items())
        started = True
        try:
            run(pg_bin / "pg_ctl", "start", "-D", data, "-l", tmp / "server.log", "-w", "-t",
                "60", "-s", start_new_session=True)  # fmt: skip
        except subprocess.CalledProcessError:
            with contextlib.suppress(OSError):
                log((tmp / "server.log").read_text()[-2000:])
            raise
        run(pg_bin / "createdb", "-h", tmp, "-p", PORT, "-U", user, "-O", user, database)
        version = subprocess.run(
            [pg_bin / "postgres", "--version"], capture_output=True, text=True
        ).stdout.strip()
        log(f"{version} running in {tmp}")
        # dj-database-url and libpq take the socket directory as a percent-encoded host.
        yield f"postgres://{user}@{str(tmp).replace('/', '%2F')}:{PORT}/{database}"
    finally:
        if started:
            try:
                run(pg_bin / "pg_ctl", "stop", "-D", data, "-m", "fast", "-s", "-t", "60")
            except subprocess.CalledProcessError:
                with contextlib.suppress(OSError):
                    log((tmp / "server.log").read_text()[-2000:])
        shutil.rmtree(tmp, ignore_errors=True)


def postmaster_pid(database_url):
    """The server's process id, from the cluster that `throwaway_postgres` yielded this URL for
    (e.g. to account its CPU time: its backends are its children)."""
    socket_dir = database_url.split("@", 1)[1].split(":", 1)[0].replace("%2F", "/")
    return int((Path(socket_dir) / "data" / "postmaster.pid").read_text().split()[0])


if __name__ == "__main__":
    # Manual use: start a cluster, print its URL, keep it until Ctrl-C.
    with throwaway_postgres() as url:
        print(url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


def django_setup(database_url, **environment):
    """Set Django up on `database_url` as production runs it: DEBUG off (on, it would keep and
    format every query), a throwaway secret key, warnings only in the log; `environment` adds
    or overrides variables."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(environment)
    import django

    django.setup()
