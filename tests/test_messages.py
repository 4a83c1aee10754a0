"""Messages: receivers, sending, dispatching, creating on message, broadcasting, requirements."""

import pytest
from django.test import RequestFactory

from automations import flow
from automations.flow import UnknownMessageError, this
from automations.models import AutomationModel
from tests.helpers import row, statuses, tasks
from tests.testapp.automations import Inbox

pytestmark = pytest.mark.django_db


class Subscription(flow.Automation):
    unique = ("email",)

    welcome = flow.Execute(this.welcome_subscriber)
    wait = flow.Execute(this.confirm).AsSoonAs(this.is_confirmed)
    end = flow.End()

    def welcome_subscriber(self, task):
        self.data["welcomed"] = True

    def is_confirmed(self, task):
        return self.data.get("confirmed", False)

    def confirm(self, task):
        self.data["done"] = True

    def receive_confirm(self, token, data):
        self.data["confirmed"] = True
        self.data["statuses_seen_by_receiver"] = statuses(self)
        return "thanks"

    def receive_update_subscriber(self, token, data):
        lists = self.data.setdefault("lists", [])
        if token == "subscribe":
            lists.append(data["list"])
        elif token == "unsubscribe":
            lists.remove(data["list"])
        return lists[:]

    @flow.require_data_parameters(webinar=int, email=str)
    def receive_register(self, token, data):
        self.data["webinar"] = data["webinar"] if isinstance(data, dict) else data.GET["webinar"]
        self.data["data_type"] = type(data).__name__
        return "registered"


def test_a_receiver_gets_token_and_data_and_its_changes_are_saved():
    subscription = Subscription(email="ada@example.com")
    assert subscription.send_message("update_subscriber", "subscribe", {"list": "news"}) == ["news"]
    assert subscription.send_message("update_subscriber", "subscribe", {"list": "offers"}) == [
        "news",
        "offers",
    ]
    assert subscription.send_message("update_subscriber", "unsubscribe", {"list": "news"}) == ["offers"]
    assert row(subscription).data["lists"] == ["offers"]


def test_send_message_advances_the_instance():
    subscription = Subscription(email="ada@example.com")
    assert not subscription.finished()
    assert subscription.send_message("confirm") == "thanks"
    assert row(subscription).data["done"] is True
    assert subscription.finished()


def test_a_finished_or_stopped_instance_receives_nothing():
    subscription = Subscription(email="ada@example.com")
    subscription.send_message("confirm")
    assert subscription.send_message("update_subscriber", "subscribe", {"list": "late"}) is None
    assert "lists" not in row(subscription).data
    stopped = Subscription(email="bob@example.com")
    AutomationModel.objects.filter(pk=stopped.id).update(error="stopped", wake_at=None, status="failed")
    assert stopped.send_message("confirm") is None
    assert row(stopped).wake_at is None


def test_an_unknown_message_is_a_clear_error():
    subscription = Subscription(email="ada@example.com")
    with pytest.raises(UnknownMessageError, match="Subscription has no receiver for message 'unsubscribe'"):
        subscription.send_message("unsubscribe")
    assert issubclass(UnknownMessageError, AttributeError)


def test_dispatch_message_to_an_instance_an_id_or_a_key():
    subscription = Subscription(email="ada@example.com")
    targets = [subscription, subscription.id, str(subscription.id), subscription.get_key()]
    for number, target in enumerate(targets):
        result = Subscription.dispatch_message(
            target, "update_subscriber", "subscribe", {"list": str(number)}
        )
        assert result == [str(n) for n in range(number + 1)]
    assert flow.Automation.dispatch_message(subscription.id, "update_subscriber", "subscribe", {"list": "x"})


def test_dispatch_message_checks_the_class():
    inbox = Inbox()
    with pytest.raises(
        TypeError, match="is a tests.testapp.automations.Inbox, not a tests.test_messages.Subscription"
    ):
        Subscription.dispatch_message(inbox.id, "confirm")
    with pytest.raises(TypeError, match="is not a tests.test_messages.Subscription"):
        Subscription.dispatch_message(inbox, "confirm")
    with pytest.raises(AutomationModel.DoesNotExist):
        Subscription.dispatch_message(10**9, "confirm")
    with pytest.raises(AutomationModel.DoesNotExist):
        Subscription.dispatch_message("no-such-key", "confirm")


def test_create_on_message_sends_before_the_first_node_runs():
    subscription = Subscription.create_on_message("confirm", None, {"email": "ada@example.com"})
    data = row(subscription).data
    assert data["statuses_seen_by_receiver"] == []
    assert data["email"] == "ada@example.com"
    assert data["welcomed"] is True and data["done"] is True
    assert subscription.finished()


def test_create_on_message_reuses_the_running_unique_instance():
    first = Subscription.create_on_message(
        "update_subscriber", "subscribe", {"email": "a@x.org", "list": "one"}
    )
    second = Subscription.create_on_message(
        "update_subscriber", "subscribe", {"email": "a@x.org", "list": "two"}
    )
    other = Subscription.create_on_message(
        "update_subscriber", "subscribe", {"email": "b@x.org", "list": "one"}
    )
    assert second.id == first.id != other.id
    assert row(first).data["lists"] == ["one", "two"]


def test_create_on_message_takes_unique_parameters_from_a_request():
    request = RequestFactory().get("/webinar/", {"email": "ada@example.com", "webinar": "2"})
    subscription = Subscription.create_on_message("register", "page", request)
    data = row(subscription).data
    assert data["email"] == "ada@example.com"
    assert (data["webinar"], data["data_type"]) == ("2", "WSGIRequest")
    again = Subscription.create_on_message("register", "page", request)
    assert again.id == subscription.id


def test_create_on_message_creates_nothing_when_data_misses_requirements():
    assert (
        Subscription.create_on_message("register", None, {"email": "ada@example.com", "webinar": "t2"})
        is None
    )
    assert AutomationModel.objects.count() == 0


def test_create_on_message_needs_the_unique_parameters():
    with pytest.raises(ValueError, match="needs the unique parameter\\(s\\) 'email'"):
        Subscription.create_on_message("confirm", None, {"name": "Ada"})
    assert AutomationModel.objects.count() == 0


def test_create_on_message_leaves_nothing_behind_when_the_receiver_raises():
    class Picky(flow.Automation):
        end = flow.End()

        def receive_hello(self, token, data):
            raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        Picky.create_on_message("hello")
    assert AutomationModel.objects.count() == 0


def test_require_data_parameters_converts_and_rejects():
    subscription = Subscription(email="ada@example.com")
    assert (
        subscription.send_message("register", None, {"webinar": "2", "email": "ada@example.com"})
        == "registered"
    )
    assert row(subscription).data["webinar"] == 2
    assert subscription.send_message("register", None, {"webinar": "t2", "email": "ada@example.com"}) is None
    assert subscription.send_message("register", None, {"email": "ada@example.com"}) is None
    assert subscription.send_message("register", None, None) is None
    assert row(subscription).data["webinar"] == 2


def test_satisfies_data_requirements():
    good = {"webinar": "2", "email": "a@x.org"}
    assert Subscription.satisfies_data_requirements("register", good)
    assert not Subscription.satisfies_data_requirements("register", {"webinar": "t2", "email": "a@x.org"})
    assert not Subscription.satisfies_data_requirements("register", {"webinar": 2})
    assert Subscription.satisfies_data_requirements("register", RequestFactory().get("/", good))
    assert not Subscription.satisfies_data_requirements(
        "register", RequestFactory().get("/", {"webinar": "2"})
    )
    assert Subscription.satisfies_data_requirements("confirm", None)  # no requirements declared
    with pytest.raises(UnknownMessageError):
        Subscription.satisfies_data_requirements("nothing", {})


class Listener(flow.Automation):
    wait = flow.Execute(this.noop).AsSoonAs(False)

    def noop(self, task):
        return None

    def receive_ping(self, token, data):
        self.data["pings"] = self.data.get("pings", 0) + 1
        return "received" if self.data.get("catch") else self.id

    @flow.require_data_parameters(level=int)
    def receive_alert(self, token, data):
        return data["level"]


def test_broadcast_reaches_every_running_instance_and_returns_their_answers():
    listeners = [Listener() for _ in range(3)]
    finished = Listener()
    AutomationModel.objects.filter(pk=finished.id).update(finished=True, wake_at=None, status="finished")
    Inbox()  # another class
    assert Listener.broadcast_message("ping") == [listener.id for listener in listeners]
    assert [row(listener).data["pings"] for listener in listeners] == [1, 1, 1]
    assert "pings" not in row(finished).data


def test_received_stops_a_broadcast():
    first, _catcher, last = Listener(), Listener(catch=True), Listener()
    assert Listener.broadcast_message("ping") == [first.id, "received"]
    assert "pings" not in row(last).data


def test_broadcast_checks_data_requirements_once():
    Listener(), Listener()
    assert Listener.broadcast_message("alert", None, {"level": "high"}) == []
    assert Listener.broadcast_message("alert", None, {"level": "3"}) == [3, 3]
    with pytest.raises(UnknownMessageError):
        Listener.broadcast_message("nothing")


class Sender(flow.Automation):
    to_id = flow.SendMessage(this.inbox_id, "note", "by-id", data={"n": 1})
    to_instance = flow.SendMessage(this.inbox_instance, "note", "by-instance")
    to_class = flow.SendMessage(Inbox, "note", "by-class")
    to_path = flow.SendMessage("tests.testapp.automations.Inbox", "note", "by-path", data=this.payload)
    end = flow.End()

    def inbox_id(self, task):
        return self.data["inbox"]

    def inbox_instance(self, task):
        return Inbox(automation_id=self.data["inbox"])

    def payload(self, task):
        return {"from": self.id}


def test_send_message_node_targets(django_capture_on_commit_callbacks):
    inbox = Inbox(needed=4)
    with django_capture_on_commit_callbacks(execute=True):
        sender = Sender(inbox=inbox.id)
    assert sender.finished()
    notes = row(inbox).data["notes"]
    assert [note["token"] for note in notes] == ["by-id", "by-instance", "by-class", "by-path"]
    assert notes[0]["data"] == {"n": 1} and notes[3]["data"] == {"from": sender.id}
    assert [t.result for t in tasks(sender)][:4] == [
        ["noted by-id"],
        ["noted by-instance"],
        ["noted by-class"],
        ["noted by-path"],
    ]
    assert inbox.finished()  # woken once the sender's step committed


def test_send_message_to_an_unknown_class_path_stops_the_sender():
    class Lost(flow.Automation):
        send = flow.SendMessage("tests.testapp.automations.Nowhere", "note")

    lost = Lost()
    assert "is not a registered automation class" in row(lost).error
    assert tasks(lost)[0].message.startswith("UnknownAutomationError(")


def test_a_message_to_itself_during_its_own_step_keeps_its_data_changes():
    class Talker(flow.Automation):
        start = flow.Execute(this.talk)
        after = flow.Execute(this.check)

        def talk(self, task):
            self.data["before"] = True
            Talker.dispatch_message(self.id, "hello", "me")

        def check(self, task):
            self.data["after_saw"] = self.data.get("hello")

        def receive_hello(self, token, data):
            self.data["hello"] = token

    talker = Talker()
    assert row(talker).data == {"before": True, "hello": "me", "after_saw": "me"}
    assert talker.finished()
