from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("automations/", include("automations.urls")),
]

# The JSON API when its extra is installed (settings.py adds its apps then), and its example client.
if apps.is_installed("rest_framework"):
    from demo.api_client import api_client

    urlpatterns = [
        path("automations/api/", include("automations.api.urls")),
        path("automations/api/client/", api_client, name="api_client"),
        *urlpatterns,
    ]

# The demo site's own pages: home, login, pricing.
urlpatterns += [path("", include("demo.page_urls"))]

# Errors inside the site's layout, with a way on.
handler403 = "automations.views.errors.permission_denied"
handler404 = "automations.views.errors.page_not_found"
