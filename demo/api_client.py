"""The example client of the JSON API (``docs/api-client.html``), served by the demo site."""

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie

CLIENT_PAGE = Path(__file__).resolve().parent.parent / "docs" / "api-client.html"


@login_required
@ensure_csrf_cookie
def api_client(request):
    """Serve the example client as it is in the docs; it reads the CSRF cookie to POST."""
    return HttpResponse(CLIENT_PAGE.read_text(encoding="utf-8"), content_type="text/html; charset=utf-8")
