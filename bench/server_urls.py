"""URLs of the benchmarks' server: the site's, and four of the benchmarks' own."""

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


def sleep(request):
    """Start one ``SecondSleeper`` in this process (it sleeps 1 s, then saves its lateness); say its id."""
    from bench.automations import SecondSleeper

    return JsonResponse({"id": SecondSleeper().id})


def publish(request):
    """Publish ``go`` to each instance of ``?ids=`` from this process; say when each was sent (epoch s).

    The live-pages benchmark publishes through this view when the channel layer is in memory, where
    only the server's own process reaches the embedded worker.
    """
    from automations import events

    sent = []
    for automation_id in request.GET["ids"].split(","):
        event = {"type": events.MESSAGE, "automation": int(automation_id), "message": "go", "token": "bench"}
        at = time.time()
        events.publish(event)
        sent.append([int(automation_id), at])
    return JsonResponse({"sent": sent})


urlpatterns = [
    path("bench/ping", ping),
    path("bench/start", start),
    path("bench/sleep", sleep),
    path("bench/publish", publish),
    path("", include("demo.urls")),
]
