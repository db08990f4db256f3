"""WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py` (see docs/deploy.md)."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moonvault.settings")
application = get_wsgi_application()
# Django imports the URLconf, and with it every view and chart module, on the first request.
# Importing it here instead lets a preloading server do it once, before its workers fork.
import_module(settings.ROOT_URLCONF)
