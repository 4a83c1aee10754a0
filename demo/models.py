"""What the demo automations leave behind: the messages they would e-mail, and report rows."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """A message a demo automation sends; the demo shows it on the home page instead of e-mailing it."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demo_notifications"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"To {self.recipient}: {self.subject}"


class ReportSnapshot(models.Model):
    """One run of the recurring report: how many automation instances are in which state."""

    created = models.DateTimeField(default=timezone.now, db_index=True)
    running = models.PositiveIntegerField()
    finished = models.PositiveIntegerField()
    stopped = models.PositiveIntegerField(help_text="Instances stopped by an error.")
    open_tasks = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M}: {self.running} running, {self.open_tasks} open tasks"
