"""The project's settings plus the baseline app, so that one gunicorn serves both the real API
and the baseline endpoint the same way. For benchmarks only."""

from dealercrm.settings import *  # noqa: F403
from dealercrm.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]
ROOT_URLCONF = "bench.baseline.urls"
