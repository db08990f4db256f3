"""WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py` (see docs/deploy.md)."""

import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moonvault.settings")
application = get_wsgi_application()
# Django imports the URLconf, and with it every view and chart module, on the first request.
# Importing it here instead lets a preloading server do it once, before its workers fork.
import_module(settings.ROOT_URLCONF)
# Everything loaded so far lives as long as the process. Frozen, it is left out of the garbage
# collector's full passes, which otherwise walk it all (130-170 ms at a time, about once every
# hundred catalog pages), and workers forked from a preloading server do not write to its pages.
gc.freeze()
