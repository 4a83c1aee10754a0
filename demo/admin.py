from django.contrib import admin

from .models import Notification, ReportSnapshot


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created", "recipient", "subject"]
    list_filter = ["recipient"]


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(admin.ModelAdmin):
    list_display = ["created", "running", "finished", "stopped", "open_tasks"]
