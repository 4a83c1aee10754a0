"""URLs of the embedded-server test: the demo site plus a view that starts a ``Napper`` over HTTP."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tests.testapp.automations import Napper


@csrf_exempt
@require_POST
def start_napper(request):
    napper = Napper(seconds=float(request.POST.get("seconds", 2)))
    return JsonResponse({"id": napper.id})


urlpatterns = [
    path("test/napper/", start_napper),
    path("", include("demo.urls")),
]
