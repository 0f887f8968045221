"""The Celery application. Broker and schedules come from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paywall.settings")

app = Celery("dropgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
