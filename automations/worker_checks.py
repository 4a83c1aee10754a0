"""System check of the worker setup: a worker that events cannot reach (``automations.W020``)."""

from django.conf import settings
from django.core import checks

from automations import settings as atm_settings

IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


def check_worker_reachable(app_configs=None, **kwargs):
    """Warn when ``ATM_WORKER`` is on but the channel layer cannot carry events to another process."""
    if not atm_settings.get("ATM_WORKER"):
        return []
    backend = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND")
    if backend is not None and backend != IN_MEMORY_LAYER:
        return []
    problem = "no channel layer" if backend is None else "the in-memory channel layer"
    return [
        checks.Warning(
            f"ATM_WORKER is on, but with {problem} the events of this process reach no worker in "
            f"another process: woken instances wait for the next sweep.",
            hint="Use channels-redis (REDIS_URL) for separate automation_worker processes, or set "
            "ATM_WORKER = False and run manage.py automation_server, which runs its worker in its "
            "own process.",
            id="automations.W020",
        )
    ]
