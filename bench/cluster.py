"""dealercrm beyond one machine, on loopback: a throwaway PostgreSQL, a Redis server, N gunicorn
app servers (deploy/gunicorn.conf.py) behind nginx (deploy/nginx.conf, when nginx is
installed) and M django-q2 task clusters, all with REDIS_URL set, as docs/deploy.md describes.

    from bench.cluster import cluster

    with cluster(app_servers=2, task_clusters=2) as c:
        c.url                   # nginx (or the first app server without nginx)
        c.seed["provider_token"], c.seed["manager_token"], c.seed["salespeople"]
        c.postgres_restart(down_seconds=3)
        c.worker_pids(0)        # the django-q2 workers of the first task cluster
        c.tasks_started("mine") # which worker of which cluster runs the tasks of a group
    c.shutdown                  # how each process stopped: signal, exit code, seconds

Everything listens on 127.0.0.1 only (PostgreSQL on a unix socket), on ports the kernel picks,
in one temporary directory that is removed at the end. Each process runs in its own session, so
that a Ctrl-C reaches the script only; on the way out (normal end, exception, Ctrl-C, or SIGTERM
once the script maps it to SystemExit) each is stopped the graceful way first — nginx QUIT,
gunicorn TERM to its master, qcluster TERM to its main process, Redis TERM — and killed (its
whole process group) only when it does not stop in time. `shutdown` records what happened, so
that a script can check that every process stopped by itself with exit code 0.

Before the servers start, the database is migrated, the schedules synced (sync_schedules), the
static files collected for nginx, and the seed run in this process (`seed_dealership` unless
another function is given): a lead provider and a sales manager with API tokens, a team of
salespeople with a capacity, and a round-robin routing rule over the team. Django is then set up
in this process on the same database and Redis, so that scripts can count rows.

Needs redis-server (apt-get install redis-server); nginx is optional (apt-get install nginx).
As root, PostgreSQL runs as the postgres user (bench/pg.py) and nginx's workers as nobody.
"""

import contextlib
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake_api import phone  # noqa: E402
from bench.pg import postgres_bin, throwaway_postgres  # noqa: E402

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
NGINX_SITE = ROOT / "deploy" / "nginx.conf"
PYTHON = sys.executable
# Seconds each kind of process gets to stop by itself before its process group is killed:
# gunicorn's graceful_timeout is 30 s; a task cluster finishes the task in hand.
STOP_TIMEOUT = {"proxy": 15, "app": 40, "tasks": 60, "redis": 15}
STOP_SIGNAL = {"proxy": signal.SIGQUIT, "app": signal.SIGTERM, "tasks": signal.SIGTERM,
               "redis": signal.SIGTERM}  # fmt: skip


def progress(line):
    print(line, file=sys.stderr, flush=True)


class ClusterError(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    name: str
    kind: str  # redis, app, proxy, tasks
    argv: list
    log: Path
    env: dict
    port: int | None = None
    popen: subprocess.Popen | None = None
    started_at: float = 0.0

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def log_text(self):
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")
        return ""

    def log_tail(self, chars=3000):
        return self.log_text()[-chars:]

    def start(self):
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.monotonic()

    def stop(self, sig=None, timeout=None):
        """The graceful stop for its kind; the process group is killed when it does not end in
        time. Returns {name, signal, exit_code, seconds, killed}."""
        if self.popen is None:
            return None
        sig = sig or STOP_SIGNAL[self.kind]
        timeout = timeout or STOP_TIMEOUT[self.kind]
        started = time.monotonic()
        killed = False
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                killed = True
        # Whatever is left of the group (a worker that outlived its parent) goes too, and
        # counts against a clean stop.
        leftovers = group_members(self.popen.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        return {
            "name": self.name,
            "signal": signal.Signals(sig).name,
            "exit_code": self.popen.returncode,
            "seconds": round(time.monotonic() - started, 2),
            "killed": killed,
            "leftover_processes": len(leftovers),
        }


@dataclass
class Cluster:
    tmp: Path
    database_url: str = ""
    redis_url: str = ""
    env: dict = field(default_factory=dict)
    apps: list = field(default_factory=list)
    proxy: Process | None = None
    tasks: list = field(default_factory=list)
    redis: Process | None = None
    seed: dict = field(default_factory=dict)
    shutdown: list = field(default_factory=list)
    nginx_site: Path | None = None
    nginx_params: dict = field(default_factory=dict)

    @property
    def url(self):
        if self.proxy is not None:
            return f"http://127.0.0.1:{self.proxy.port}"
        return self.app_url(0)

    @property
    def port(self):
        return self.proxy.port if self.proxy is not None else self.apps[0].port

    def app_url(self, index):
        return f"http://127.0.0.1:{self.apps[index].port}"

    def processes(self):
        return [p for p in [self.proxy, *self.apps, *self.tasks, self.redis] if p is not None]

    def dead(self):
        """Names of the processes that exited while they should run."""
        return [p.name for p in self.processes() if not p.alive()]

    # --- app servers -----------------------------------------------------------------------

    def app_stop(self, index, sig=signal.SIGTERM):
        result = self.apps[index].stop(sig)
        self.shutdown.append(result)
        return result

    def app_start(self, index):
        app = self.apps[index]
        app.start()
        wait_http(app, app.port, "/health/")
        return app

    def app_workers(self, index):
        """The pids of gunicorn's workers of app server `index` (its master's children)."""
        return children(self.apps[index].pid)

    def app_reload(self, index, timeout=60):
        """SIGHUP (systemctl reload): gunicorn starts new workers with the code on disk and
        stops the old ones gracefully, keeping its listening socket. Waits until every old
        worker is gone and as many new ones answer. Returns the seconds it took."""
        began = time.monotonic()
        old = set(self.app_workers(index))
        wanted = int(self.apps[index].env.get("WEB_CONCURRENCY") or len(old))
        os.kill(self.apps[index].pid, signal.SIGHUP)
        deadline = began + timeout
        while time.monotonic() < deadline:
            now = set(self.app_workers(index))
            if not now & old and len(now) >= wanted:
                break
            time.sleep(0.1)
        else:
            raise ClusterError(f"{self.apps[index].name} did not replace its workers on HUP")
        wait_http(self.apps[index], self.apps[index].port, "/health/")
        return round(time.monotonic() - began, 2)

    def proxy_upstream(self, down=()):
        """Mark the app servers `down` (indexes) in nginx's upstream and reload nginx (HUP: new
        workers with the new configuration; the old ones finish their requests)."""
        if self.proxy is None:
            return
        self.nginx_site.write_text(
            nginx_render(NGINX_SITE.read_text(), **self.nginx_params, down=set(down))
        )
        os.kill(self.proxy.pid, signal.SIGHUP)
        time.sleep(0.5)

    def app_restart_drained(self, index, quiet_seconds=1.0, timeout=30):
        """A restart nobody notices: take the server out of nginx's upstream, wait until its
        access log has been quiet for `quiet_seconds` (the requests it had are answered), stop
        it (TERM), start it, wait for /health/, put it back. Returns the stop's record."""
        self.proxy_upstream(down={index})
        path = self.tmp / f"app-{index + 1}.access.log"
        deadline = time.monotonic() + timeout
        size, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = path.stat().st_size if path.exists() else 0
            if now != size:
                size, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_seconds:
                break
            time.sleep(0.1)
        stopped = self.app_stop(index)
        self.app_start(index)
        self.proxy_upstream(down=())
        return stopped

    def access_log_lines(self, index):
        path = self.tmp / f"app-{index + 1}.access.log"
        with contextlib.suppress(OSError):
            return path.read_text(errors="replace").splitlines()
        return []

    # --- task clusters -----------------------------------------------------------------------

    def worker_pids(self, index):
        """{django-q2 process name: pid} of the live workers of task cluster `index`, from its
        log (each worker says "<name> ready for work at <pid>")."""
        found = {}
        for name, pid in re.findall(
            r"(Process-\w+) ready for work at (\d+)", self.tasks[index].log_text()
        ):
            if pid_alive(int(pid)):
                found[name] = int(pid)
        return found

    def tasks_started(self, group):
        """The tasks of django-q2 group `group` that workers started, from the clusters' logs:
        [{"cluster": name, "worker": process name, "pid": pid (None once gone), "task": task
        name, "finished": whether its cluster logged the result}]."""
        found = []
        for process in self.tasks:
            text = process.log_text()
            pids = dict(re.findall(r"(Process-\w+) ready for work at (\d+)", text))
            pattern = rf"(Process-\w+) processing (\S+) '[^']+' \[{re.escape(group)}\]"
            for worker, task in re.findall(pattern, text):
                pid = int(pids[worker]) if worker in pids else None
                found.append(
                    {
                        "cluster": process.name,
                        "worker": worker,
                        "pid": pid if pid and pid_alive(pid) else None,
                        "task": task,
                        "finished": f"({task})" in text,
                    }
                )
        return found

    # --- Redis -------------------------------------------------------------------------------

    def redis_restart(self, down_seconds=3.0):
        """Stop Redis (TERM), stay down `down_seconds`, start it again on the same port, empty
        (it holds the cache only). Returns (stopped_at, started_at) as time.monotonic()."""
        self.shutdown.append(self.redis.stop())
        stopped = time.monotonic()
        time.sleep(down_seconds)
        self.redis.start()
        _wait_redis(self.redis, self.redis.port)
        return stopped, time.monotonic()

    # --- PostgreSQL --------------------------------------------------------------------------

    def _pg_ctl(self, *args):
        socket_dir = self.database_url.split("@", 1)[1].split(":", 1)[0].replace("%2F", "/")
        argv = [str(postgres_bin() / "pg_ctl"), *args, "-D", f"{socket_dir}/data", "-s"]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, cwd=socket_dir, check=True, capture_output=True,
                              start_new_session=True)  # fmt: skip

    def postgres_stop(self):
        """Fast shutdown: open connections are cut, transactions in flight roll back."""
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")

    def postgres_start(self):
        socket_dir = self.database_url.split("@", 1)[1].split(":", 1)[0].replace("%2F", "/")
        self._pg_ctl("start", "-w", "-t", "60", "-l", f"{socket_dir}/server.log")

    def postgres_restart(self, down_seconds=3.0):
        """Stop (fast), stay down `down_seconds`, start. Returns (stopped_at, started_at) as
        time.monotonic() values."""
        self.postgres_stop()
        stopped = time.monotonic()
        time.sleep(down_seconds)
        self.postgres_start()
        return stopped, time.monotonic()


def children(pid):
    """Direct children of `pid` (from /proc)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with (
                contextlib.suppress(OSError, IndexError, ValueError),
                open(f"/proc/{entry.name}/stat") as f,
            ):
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def group_members(pgid):
    """Live (not zombie) processes of process group `pgid`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry.name}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
                if int(rest[2]) == pgid and rest[0] != "Z":
                    found.append(int(entry.name))
    return found


def cpu_split(before, after, c):
    """Percent of the machine (all cores) used between two snapshots by this cluster (this
    script, its servers, PostgreSQL) and by everything else: processes that exited meanwhile
    (workers replaced on a reload), the kernel's network work, and any other work on the
    machine (which depresses absolute figures: compare within one run)."""
    sessions = {p.pid for p in c.processes() if p.pid}
    postmaster = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        socket_dir = c.database_url.split("@", 1)[1].split(":", 1)[0].replace("%2F", "/")
        postmaster = int((Path(socket_dir) / "data" / "postmaster.pid").read_text().split()[0])
    ours = 0
    for pid, (ppid, _group, session, jiffies) in after[2].items():
        if pid == os.getpid() or session in sessions or postmaster in (pid, ppid):
            ours += jiffies - before[2].get(pid, (0, 0, 0, 0))[3]
    total = max(1, after[1] - before[1])
    busy = after[0] - before[0]
    return {
        "cluster_pct_of_machine": round(100 * ours / total, 1),
        "other_pct_of_machine": round(100 * max(0, busy - ours) / total, 1),
        "busy_pct_of_machine": round(100 * busy / total, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    return False


def wait_http(process, port, path, timeout=90, expect=200):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if not process.alive():
            raise ClusterError(
                f"{process.name} exited ({process.popen.returncode}):\n{process.log_tail()}"
            )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.status == expect:
                return
            last = f"{response.status} {body[:300]!r}"
        except OSError as error:
            last = repr(error)
        finally:
            conn.close()
        time.sleep(0.2)
    raise ClusterError(
        f"{process.name} did not answer {expect} on {path} within {timeout} s (last: {last}):\n"
        f"{process.log_tail()}"
    )


def wait_log(process, pattern, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise ClusterError(
                f"{process.name} exited ({process.popen.returncode}):\n{process.log_tail()}"
            )
        if re.search(pattern, process.log_text()):
            return
        time.sleep(0.2)
    raise ClusterError(
        f"{process.name} did not log {pattern!r} in {timeout} s:\n{process.log_tail()}"
    )


# --- configuration ---------------------------------------------------------------------------


def app_environment(database_url, redis_url, extra):
    """The environment every app server and task cluster gets: production settings (DEBUG
    off), one SECRET_KEY for all (django-q2 signs its task packages with it), loopback HTTP."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="dealercrm.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Loopback HTTP: in production nginx terminates TLS and says so in X-Forwarded-Proto.
        SECURE_SSL_REDIRECT="false",
        CLIENT_ADDRESS_HEADER="X-Real-IP",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # No mail server here; production sends notifications through SMTP.
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    env.update(extra or {})
    return env


def nginx_render(site_text, *, port, app_ports, static_root, access_log, down=()):
    """deploy/nginx.conf for loopback: the marked parts replaced (each marker must be found),
    TLS and the port-80 redirect left out, everything else as production has it. The app
    servers whose index is in `down` are marked down (taken out of the upstream)."""

    def replace(text, marker, body):
        pattern = re.compile(
            rf"^([ \t]*)# {marker}: begin\n.*?^[ \t]*# {marker}: end\n", re.M | re.S
        )
        if len(pattern.findall(text)) != 1:
            raise ClusterError(
                f"deploy/nginx.conf: the '# {marker}: begin/end' markers are missing"
            )
        return pattern.sub(lambda m: "".join(f"{m.group(1)}{line}\n" for line in body), text)

    text = replace(
        site_text,
        "app servers",
        [
            f"server 127.0.0.1:{p} max_fails=3 fail_timeout=10s{' down' if i in down else ''};"
            for i, p in enumerate(app_ports)
        ],
    )
    text = replace(text, "plain http", [])
    text = replace(text, "tls", [f"listen 127.0.0.1:{port};"])
    text = replace(text, "server name", ["server_name 127.0.0.1 localhost;"])
    text = replace(text, "access log", [f"access_log {access_log} dealercrm_upstream;"])
    text = replace(text, "static root", [f"alias {static_root}/;"])
    return text


def nginx_main_conf(prefix, site_path):
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {prefix}/{name}_temp;"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
        "daemon off;\nevents { worker_connections 1024; }\n"
        "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    sendfile on;\n{temp}\n    include {site_path};\n}}\n"
    )


# --- the seed ----------------------------------------------------------------------------------


def seed_dealership(*, salespeople=10, capacity=1_000_000, sla_minutes=60, team_name="Floor"):
    """A lead provider and a sales manager with API tokens, a team of `salespeople` with
    `capacity` open leads each, a round-robin rule over the team with a first-response SLA of
    `sla_minutes`. Returns a function for `cluster(seed=...)`."""

    def seed():
        from rest_framework.authtoken.models import Token

        from dealercrm.models import Role, Team
        from dealercrm.services import staff_create
        from routing.models import Strategy
        from routing.services import rule_create

        provider = staff_create(username="provider", role=Role.LEAD_PROVIDER)
        manager = staff_create(username="manager", role=Role.SALES_MANAGER, first_name="Mia")
        team = Team.objects.create(name=team_name)
        people = [
            staff_create(
                username=f"seller-{n}",
                role=Role.SALESPERSON,
                team=team,
                capacity=capacity,
                first_name="Seller",
                last_name=str(n),
            )  # fmt: skip
            for n in range(salespeople)
        ]
        rule = rule_create(
            by="bench", name="Round robin", strategy=Strategy.ROUND_ROBIN, team=team,
            sla_minutes=sla_minutes,
        )  # fmt: skip
        return {
            "provider_token": Token.objects.create(user=provider).key,
            "manager_token": Token.objects.create(user=manager).key,
            "manager_id": manager.pk,
            "salespeople": [person.pk for person in people],
            "capacity": capacity,
            "team_id": team.pk,
            "rule_id": rule.pk,
        }

    return seed


def django_setup(env):
    """Django in this process, on the cluster's database and Redis, with its settings."""
    os.environ.update({k: v for k, v in env.items() if k not in {"PYTHONUNBUFFERED"}})
    import django

    django.setup()


def close_db():
    from django.db import connections

    connections.close_all()


# --- the context manager -----------------------------------------------------------------------


@contextlib.contextmanager
def cluster(*, app_servers=2, task_clusters=2, web_concurrency=2, q_workers=2, nginx=True,
            seed=None, env=None, pg_conf=None, log=progress, logs_to=None):  # fmt: skip
    """Start everything (see the module's docstring), yield the Cluster, stop everything.
    `env` adds variables for the app servers and task clusters (and this process's Django),
    e.g. {"Q_TIMEOUT": "20"}; `nginx` False (or nginx not installed) leaves the proxy out.
    `logs_to` (a directory) receives a copy of every log and the rendered nginx configuration
    before the temporary directory goes."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster.", dir="/tmp"))
    os.chmod(tmp, 0o755)
    c = Cluster(tmp=tmp)
    try:
        with throwaway_postgres(conf=pg_conf, log=log) as database_url:
            c.database_url = database_url
            try:
                _start(c, app_servers, task_clusters, web_concurrency, q_workers, nginx, seed,
                       env, log)  # fmt: skip
                yield c
            finally:
                # Everything that uses PostgreSQL stops before it does.
                _stop_all(c, log)
    finally:
        if logs_to:
            _keep_logs(tmp, Path(logs_to))
        shutil.rmtree(tmp, ignore_errors=True)


def _keep_logs(tmp, destination):
    destination.mkdir(parents=True, exist_ok=True)
    for path in [*tmp.glob("*.log"), *tmp.glob("nginx/*.log"), *tmp.glob("nginx/*.conf")]:
        with contextlib.suppress(OSError):
            shutil.copy(path, destination / path.name)


def _start(c, app_servers, task_clusters, web_concurrency, q_workers, nginx, seed, env, log):
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise ClusterError("redis-server is not installed (apt-get install redis-server)")
    redis_port = free_port()
    c.redis_url = f"redis://127.0.0.1:{redis_port}/0"
    c.redis = Process(
        "redis", "redis",
        [redis_bin, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
         "--appendonly", "no", "--dir", str(c.tmp), "--protected-mode", "yes",
         "--daemonize", "no"],
        c.tmp / "redis.log", dict(os.environ), redis_port,
    )  # fmt: skip
    c.redis.start()
    _wait_redis(c.redis, redis_port)
    log(f"redis on 127.0.0.1:{redis_port}")

    c.env = app_environment(c.database_url, c.redis_url, {
        "Q_WORKERS": str(q_workers), **(env or {}),
    })  # fmt: skip
    django_setup(c.env)
    from django.core.management import call_command
    from django.test.utils import override_settings

    log("migrating, syncing the schedules, collecting the static files")
    quiet = io.StringIO()
    call_command("migrate", verbosity=0, stdout=quiet)
    call_command("sync_schedules", verbosity=0, stdout=quiet)
    static_root = c.tmp / "static"
    if nginx and shutil.which("nginx"):
        with override_settings(STATIC_ROOT=static_root):
            call_command("collectstatic", interactive=False, verbosity=0)
    c.seed = (seed or seed_dealership())() or {}
    close_db()

    for n in range(app_servers):
        port = free_port()
        app_env = {
            **c.env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(web_concurrency),
            "GUNICORN_ACCESS_LOG": str(c.tmp / f"app-{n + 1}.access.log"),
            "GUNICORN_ERROR_LOG": "-",
            "GUNICORN_PROC_NAME": f"dealercrm-app-{n + 1}",
        }
        app = Process(
            f"app-{n + 1}", "app",
            [PYTHON, "-m", "gunicorn", "--config", str(GUNICORN_CONF)],
            c.tmp / f"app-{n + 1}.log", app_env, port,
        )  # fmt: skip
        c.apps.append(app)
        app.start()
    for app in c.apps:
        wait_http(app, app.port, "/health/")
        log(f"{app.name}: gunicorn on 127.0.0.1:{app.port}")

    if nginx and shutil.which("nginx"):
        prefix = c.tmp / "nginx"
        prefix.mkdir()
        port = free_port()
        c.nginx_site = prefix / "dealercrm.conf"
        c.nginx_params = {
            "port": port,
            "app_ports": [a.port for a in c.apps],
            "static_root": static_root,
            "access_log": prefix / "access.log",
        }
        c.nginx_site.write_text(nginx_render(NGINX_SITE.read_text(), **c.nginx_params))
        site = c.nginx_site
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_main_conf(prefix, site))
        if os.geteuid() == 0:
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (prefix / f"{name}_temp").mkdir()
                shutil.chown(prefix / f"{name}_temp", "nobody", "nogroup")
        argv = ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        tested = subprocess.run([*argv, "-t"], capture_output=True, text=True)
        if tested.returncode != 0:
            raise ClusterError(f"nginx -t refused the rendered deploy/nginx.conf:\n{tested.stderr}")
        c.proxy = Process("nginx", "proxy", argv, prefix / "nginx.out", dict(os.environ), port)
        c.proxy.start()
        wait_http(c.proxy, port, "/health/")
        log(f"nginx on 127.0.0.1:{port} in front of {len(c.apps)} app servers")
    elif nginx:
        log("nginx is not installed: clients talk to the first app server directly")

    for n in range(task_clusters):
        tasks_env = {**c.env, "LOG_LEVEL": "INFO"}
        process = Process(
            f"tasks-{n + 1}", "tasks", [PYTHON, "manage.py", "qcluster"],
            c.tmp / f"tasks-{n + 1}.log", tasks_env,
        )  # fmt: skip
        c.tasks.append(process)
        process.start()
    for process in c.tasks:
        wait_log(process, r"Q Cluster \S+ .*running\.")
        log(f"{process.name}: django-q2 cluster running ({q_workers} workers)")


def _wait_redis(process, port, timeout=30):
    import redis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise ClusterError(f"redis-server exited:\n{process.log_tail()}")
        with contextlib.suppress(redis.exceptions.ConnectionError):
            if redis.Redis(host="127.0.0.1", port=port).ping():
                return
        time.sleep(0.1)
    raise ClusterError(f"redis-server did not answer in {timeout} s:\n{process.log_tail()}")


def _stop_all(c, log):
    """nginx first (no new requests), then the app servers, the task clusters, Redis; each the
    graceful way, killed only when it does not stop in time."""
    with contextlib.suppress(Exception):
        close_db()
    for process in [c.proxy, *c.apps, *c.tasks, c.redis]:
        if process is None or process.popen is None or process.popen.returncode is not None:
            continue
        result = process.stop()
        c.shutdown.append(result)
        if result["killed"] or result["exit_code"] != 0:
            log(
                f"{process.name} did not stop cleanly: {json.dumps(result)}\n"
                f"{process.log_tail(1500)}"
            )


def shutdown_clean(c):
    """Every stop recorded was graceful: no process killed, every exit code 0, nothing of its
    process group left behind."""
    return all(
        not r["killed"] and r["exit_code"] == 0 and not r["leftover_processes"]
        for r in c.shutdown
        if r
    )


# --- clients -----------------------------------------------------------------------------------

# Answers a client tries again after (Retry-After when given): the proxy found no server (502,
# 504), the database was unavailable (503), a rate limit (429).
RETRY_STATUSES = {429, 502, 503, 504}
RETRY_AFTER_CAP = 10


def lead_body(n, prefix, source="website"):
    """A new customer's inquiry: unique external id, name, e-mail and phone (bench/intake_api's
    generator of valid US numbers)."""
    return json.dumps(
        {
            "source": source,
            "external_id": f"{prefix}-{n}",
            "first_name": "Ann",
            "last_name": f"Lee{n}",
            "email": f"{prefix}.{n}@example.com",
            "phone": phone(n),
            "vehicle": {"year": 2025, "make": "Toyota", "model": "RAV4", "condition": "new"},
            "purchase_horizon": "within_month",
        }
    ).encode()


# A kept-alive connection the server closed while it was idle (nginx does on a reload, when its
# old workers leave): the request was not taken, and HTTP clients send it again on a new
# connection (RFC 9112, 9.3.1), as this one does, once.
STALE_CONNECTION = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


class Client:
    """One HTTP/1.1 connection (kept alive by nginx; gunicorn closes it after each answer, and
    the client reconnects) for one thread."""

    def __init__(self, port, token=None, timeout=30):
        self.port = port
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Token {token}"
        self.conn = None
        self.reused = False
        self.stale_connections = 0

    def request(self, method, path, body=None, headers=None):
        """(status or the exception's name, headers dict, body bytes, seconds)."""
        started = time.perf_counter()
        while True:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self.reused = False
            try:
                self.conn.request(method, path, body, {**self.headers, **(headers or {})})
                response = self.conn.getresponse()
                answer = response.read()
                status, answer_headers = response.status, dict(response.getheaders())
                self.reused = True
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
            except (OSError, http.client.HTTPException) as error:
                stale = self.reused and isinstance(error, STALE_CONNECTION)
                self.close()
                if stale:
                    self.stale_connections += 1
                    continue
                status, answer_headers, answer = type(error).__name__, {}, repr(error).encode()
            return status, answer_headers, answer, time.perf_counter() - started

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post_until_answered(self, path, body, *, deadline, headers=None):
        """Post `body` until a final answer (2xx or a 4xx other than 429), trying again after
        Retry-After (or 1 s) on 429/502/503/504 and on a broken connection, until `deadline`
        (time.monotonic()). Returns the attempts: [(status, seconds, Retry-After header, the
        answer's first bytes, time.monotonic() at its end)]."""
        attempts = []
        while True:
            status, answer_headers, answer, seconds = self.request("POST", path, body, headers)
            retry_after = answer_headers.get("Retry-After")
            attempts.append((status, seconds, retry_after, answer[:200], time.monotonic()))
            if isinstance(status, int) and status not in RETRY_STATUSES:
                return attempts
            if time.monotonic() >= deadline:
                return attempts
            wait = 1.0
            with contextlib.suppress(TypeError, ValueError):
                wait = min(RETRY_AFTER_CAP, float(retry_after))
            time.sleep(wait)
