"""Settings of the ``automation_server`` process the embedded-mode benchmark starts.

The workers' settings (the site's, with the benchmark's automations), plus a URL of the
benchmark's own that the benchmark times while the server's scheduler is busy.
"""

from bench.worker_settings import *  # noqa: F403

ROOT_URLCONF = "bench.server_urls"
SECURE_SSL_REDIRECT = False  # served over plain HTTP on 127.0.0.1
