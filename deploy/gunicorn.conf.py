"""gunicorn settings for Moonvault in production: `gunicorn -c deploy/gunicorn.conf.py`."""

import os

wsgi_app = "moonvault.wsgi"
bind = os.environ.get("BIND", "127.0.0.1:8000")
# Sync workers, one per core: each request is short and the database does the waiting.
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
# The application is imported once, before the workers fork, so that they share its memory and
# none of them pays for the first import while a request waits.
preload_app = True
# Plan proposals on the largest rounds run for up to a minute inside their request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
# Workers are replaced now and then, so that no slow growth of memory accumulates.
max_requests = 5000
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
