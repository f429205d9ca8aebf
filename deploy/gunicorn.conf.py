"""gunicorn settings of one dealercrm app server, behind nginx (deploy/nginx.conf).

    gunicorn -c deploy/gunicorn.conf.py          # from the checkout, with the app's environment

Every value that differs between machines comes from the environment:

GUNICORN_BIND              address:port to listen on (default 127.0.0.1:8000). Bind a private
                           address only: the app trusts the client address nginx puts in
                           CLIENT_ADDRESS_HEADER, which a client reaching gunicorn directly could
                           forge.
WEB_CONCURRENCY            sync worker processes (default: 2 per CPU core + 1). Each keeps one
                           PostgreSQL connection open (CONN_MAX_AGE).
GUNICORN_TIMEOUT           seconds a worker may spend on one request before it is killed and
                           replaced (default 30).
GUNICORN_GRACEFUL_TIMEOUT  seconds a stopping or reloading server lets its workers finish the
                           requests they hold (default 30). systemd's TimeoutStopSec is longer.
FORWARDED_ALLOW_IPS        the proxies whose X-Forwarded-Proto is believed (default 127.0.0.1,::1:
                           nginx on the same machine); the address of nginx otherwise.
GUNICORN_ACCESS_LOG        file of the access log, "-" for stdout (default), "" for none.
GUNICORN_ERROR_LOG         file of the error log, "-" for stderr (default).
GUNICORN_PROC_NAME         the name in `ps` (default dealercrm).

Signals: TERM stops gracefully (stop accepting, finish the requests in hand within
graceful_timeout), HUP starts new workers with the code on disk and stops the old ones
gracefully, QUIT stops at once.
"""

import os

wsgi_app = "dealercrm.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]

# Sync workers: on 2 cores gthread was slower and uneven (PLATFORM.md). A sync worker holds one
# request at a time, so slow clients must not reach it directly: nginx buffers request bodies and
# responses (its defaults) and hands each over at once.
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)

timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)

# gunicorn 27 opens a control socket under ~/.gunicorn/ by default, and several servers on one
# machine would share its path (PLATFORM.md). Nothing here uses gunicornc.
control_socket_disable = True

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG") or "-"
# The client as nginx saw it (X-Real-IP), the request, status, bytes, the time the app took in
# milliseconds, and this server's process id (which app server and worker answered).
access_log_format = '%({x-real-ip}i)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms worker=%(p)s "%(a)s"'

proc_name = os.environ.get("GUNICORN_PROC_NAME") or "dealercrm"
