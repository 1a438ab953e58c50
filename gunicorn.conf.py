"""gunicorn configuration: `gunicorn -c gunicorn.conf.py` (bin/web does this).

Every value can be changed from the environment, so one file serves a laptop, CI,
`make bench` and a production host. Why each default is what it is:

- gthread, 3 workers x 2 threads, with one change (bookings_site/gunicorn_workers.py):
  while all of a process's threads are busy, it leaves new connections for 50 ms to a
  process with a free thread before taking them itself. Stock gthread
  takes every connection it can, so a burst of connections (a load balancer opening its
  pool, wrk's eight) can all land on the process that wakes first, and with keep-alive
  they stay there: `make bench` saw rounds at half the throughput, the other process
  idle. With the change the rounds hold steady (README, Performance).
  `make bench` measures sync workers (2 x cores + 1 = 5) beside it in the same
  interleaved rounds. What keeps gthread: 5 sync workers hold more memory (428 MiB
  against 269 MiB resident for 3 x 2), close every connection after one response (no
  keep-alive), and a slow client holds a whole process. gthread keeps idle connections
  aside and overlaps one thread's database wait with another's work. That gives
  WEB_CONCURRENCY x WEB_THREADS = 6 database connections per host at most.
  3 x 2 rather than 2 x 4: fewer threads per GIL. Measured in eight interleaved rounds
  on the bench (23 Nov 2026), 3 x 2 served the API list 4 % faster (median 530 against
  508 req/s) and the trivial baseline view 3 % slower (815 against 840). The heavier
  request is the one this application serves. It costs one more process: about 100 MiB.
  WEB_WORKER_CLASS=sync (with WEB_CONCURRENCY=5) switches; any other gunicorn worker
  class name is passed to gunicorn as it is.
- max_requests + jitter: a safety net that recycles a worker now and then (staggered,
  so workers never restart together); the soak in `make bench` turns it off to prove
  workers do not grow without it.
- preload_app: Django is imported once in the master and workers fork from it: a
  faster cold start and recycle, and shared (copy-on-write) code pages. Nothing
  opens a database connection at import time, so no socket is shared across forks.
"""

import logging
import os

from bookings_site.logging import gunicorn_logconfig

# The settings read this to name the database connections of this process.
os.environ.setdefault("PROCESS_ROLE", "web")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookings_site.settings")

wsgi_app = "bookings_site.wsgi:application"
bind = [f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"]  # noqa: S104

# "gthread" is gunicorn's gthread worker that leaves new connections to a process with a
# free thread first (bookings_site/gunicorn_workers.py); any other value is gunicorn's own.
_worker_class_name = os.environ.get("WEB_WORKER_CLASS", "gthread")
worker_class = {"gthread": "bookings_site.gunicorn_workers.FairThreadWorker"}.get(
    _worker_class_name, _worker_class_name
)
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("WEB_THREADS", "2"))
preload_app = os.environ.get("WEB_PRELOAD", "true").lower() in ("1", "true", "yes")

max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("WEB_MAX_REQUESTS_JITTER", str(max_requests // 10)))

# A worker whose main loop stops answering for this long is killed and replaced. On
# gthread this does not bound one request (the main loop keeps running while a thread
# is busy), so each request has a time budget of its own, which the settings read:
# PostgreSQL cancels a statement running past it, and a request past it is stopped at
# its next query with a 503 (bookings_site/middleware.py, RequestBudgetMiddleware).
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
os.environ.setdefault("REQUEST_TIME_BUDGET", "20")
# On SIGTERM, finish in-flight requests for this long before exiting.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "25"))
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))

# The heartbeat file lives in memory: a slow or full disk must not kill workers.
worker_tmp_dir = "/dev/shm"  # noqa: S108

# Trust X-Forwarded-* only from the load balancer in front (loopback by default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access and error logs to stdout as JSON lines (bookings_site/logging.py), the
# access line carrying the X-Request-ID of the response.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = gunicorn_logconfig()
# Python warnings become log records too, so stdout stays one JSON object per line.
logging.captureWarnings(True)
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(D)sus rid=%({x-request-id}o)s'

proc_name = "bookings-web"
# gunicorn's runtime control socket is one fixed path per user: two servers on a host
# (tests, the bench, a second app) would fight over it. Signals do the same job.
control_socket_disable = True
