"""URLs of the embedded-mode benchmark's server: the site's, and two of the benchmark's own."""

import time

from django.http import JsonResponse
from django.urls import include, path

from automations.models import AutomationModel


def ping(request):
    """A small request that reads the database, as a page would."""
    return JsonResponse({"unfinished": AutomationModel.objects.filter(finished=False).exists()})


def start(request):
    """Start ``n`` sleepers in this process (a day's sleep each) and say how long that took."""
    from bench.automations import Sleeper

    count = int(request.GET.get("n", "200"))
    began = time.perf_counter()
    for _ in range(count):
        Sleeper()
    return JsonResponse({"started": count, "seconds": time.perf_counter() - began})


urlpatterns = [
    path("bench/ping", ping),
    path("bench/start", start),
    path("", include("demo.urls")),
]
