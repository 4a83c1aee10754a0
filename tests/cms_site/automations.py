"""Automations the CMS plugin tests send messages to and show the status of."""

from automations import flow
from automations.flow import this


class WebinarBase(flow.Automation):
    """A webinar waits until it has two participants; page views add them."""

    class Meta:
        abstract = True

    start = flow.Execute(this.open_registration)
    full = flow.Execute(this.close_registration).AsSoonAs(this.has_two_participants)
    end = flow.End()

    def open_registration(self, task):
        self.data.setdefault("participants", [])

    def has_two_participants(self, task):
        return len(self.data.get("participants", [])) >= 2

    def close_registration(self, task):
        self.data["closed"] = True

    @flow.require_data_parameters(participant=str)
    def receive_add_participant_to_webinar(self, token, data):
        participants = self.data.setdefault("participants", [])
        participants.append(data.GET["participant"] if hasattr(data, "GET") else data["participant"])
        self.data.setdefault("tokens", []).append(token)
        self.data["request_path"] = getattr(data, "path", None)
        self.save()


class Webinar(WebinarBase):
    publish_receivers = True
    unique = ("webinar",)

    class Meta:
        verbose_name = "Webinar registration"
        status_template = "cms_site/webinar_status.html", "Current status"
        issues_template = "cms_site/webinar_issues.html"
        dashboard_template = "cms_site/not_a_status_template.html"

    def receive_cancel(self, token, data):
        self.data["cancelled"] = True
        self.save()


class QuietWebinar(WebinarBase):
    """Receives the same messages, but does not publish them to page authors."""

    class Meta:
        verbose_name = "Quiet webinar"
        status_template = "cms_site/webinar_status.html", "Quiet status"


class Failing(flow.Automation):
    publish_receivers = True

    start = flow.Execute(this.nothing).AsSoonAs(False)
    end = flow.End()

    def nothing(self, task):
        return None

    def receive_explode(self, token, data):
        raise RuntimeError("receiver failed")
