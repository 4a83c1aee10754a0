"""The demo's own pages (included by ``demo.urls``)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from demo import views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="demo/login.html"), name="login"),
    path("accounts/logout/", views.LogoutPage.as_view(next_page="demo_home"), name="logout"),
    path("", views.home, name="demo_home"),
    path("start/expense/", views.start_expense, name="demo_start_expense"),
    path("start/trial/", views.start_trial, name="demo_start_trial"),
    path("start/report/", views.start_report, name="demo_start_report"),
    path("start/invoice/", views.start_invoice, name="demo_start_invoice"),
    path("run-due/", views.run_due, name="demo_run_due"),
    path("pricing/", views.pricing, name="demo_pricing"),
    path("buy/", views.buy, name="demo_buy"),
]
