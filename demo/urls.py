from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("automations/", include("automations.urls")),
]

# The demo site's own pages: home, login, pricing.
urlpatterns += [path("", include("demo.page_urls"))]

# Errors inside the site's layout, with a way on.
handler403 = "automations.views.errors.permission_denied"
handler404 = "automations.views.errors.page_not_found"
