"""Automation instances: parameters, binding, running, finishing, keys, uniqueness."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from automations import events, flow
from automations.flow import AutomationFinishedError, this
from automations.models import AutomationModel, AutomationTaskModel
from tests.helpers import row, statuses
from tests.testapp.models import Document

pytestmark = pytest.mark.django_db


class Greeting(flow.Automation):
    greet = flow.Execute(this.say_hello)
    wait = flow.Execute(this.close).AsSoonAs(this.may_close)
    end = flow.End()

    def say_hello(self, task):
        self.data["greeted"] = self.user.username if "user" in self.data else None

    def may_close(self, task):
        return self.data.get("close", False)

    def close(self, task):
        self.data["closed"] = True


def test_parameters_are_stored_in_data():
    automation = Greeting(email="ada@example.com", count=3, tags=["a", "b"])
    assert row(automation).data == {
        "email": "ada@example.com",
        "count": 3,
        "tags": ["a", "b"],
        "greeted": None,
    }


def test_model_instances_are_stored_by_id_and_given_back_per_instance():
    ada = User.objects.create(username="ada")
    bob = User.objects.create(username="bob")
    first, second = Greeting(user=ada), Greeting(user=bob)
    assert first.data["user"] == ada.pk and second.data["user"] == bob.pk
    assert (first.user, second.user) == (ada, bob)
    assert (first.data["greeted"], second.data["greeted"]) == ("ada", "bob")
    assert not hasattr(Greeting, "user")
    again = Greeting(automation_id=first.id)
    assert again.user == ada and again.get_model_instance("user") == ada


def test_several_model_parameters_of_different_models():
    ada = User.objects.create(username="ada")
    document = Document.objects.create(title="Contract")
    automation = Greeting(user=ada, document=document, autorun=False)
    assert automation.data == {"user": ada.pk, "document": document.pk}
    assert automation.document == document
    assert automation.user == ada


def test_parameters_must_be_json_serializable():
    with pytest.raises(TypeError, match="Parameter 'when'"):
        Greeting(when={1, 2})
    with pytest.raises(TypeError, match="Parameter 'ratio'"):
        Greeting(ratio=float("nan"))
    with pytest.raises(ValueError, match="not saved yet"):
        Greeting(user=User(username="unsaved"))
    assert AutomationModel.objects.count() == 0


def test_autorun_false_creates_without_running():
    automation = Greeting(autorun=False)
    assert AutomationModel.objects.filter(pk=automation.id).exists()
    assert statuses(automation) == []
    assert row(automation).wake_at is not None  # due: the next step starts it unless run() does first
    assert automation.run() is automation.wait
    assert statuses(automation) == ["greet", "wait"]


def test_an_instance_created_without_autorun_is_started_by_the_next_step():
    automation = Greeting(autorun=False)
    automation.data["close"] = True  # the additional initialization autorun=False is for
    automation.save()
    assert AutomationModel.run()["advanced"] == 1
    assert statuses(automation) == ["greet", "wait", "end"]
    assert automation.finished()


def test_run_got_there_first_and_the_next_step_finds_nothing_to_do():
    automation = Greeting(autorun=False)
    assert automation.run() is automation.wait
    assert AutomationModel.run()["advanced"] == 0
    assert statuses(automation) == ["greet", "wait"]


def test_data_saved_through_the_automation_makes_it_due_for_the_next_step(clock):
    automation = Greeting()
    assert AutomationModel.run()["advanced"] == 0  # waiting for "close", re-checked in a minute
    automation.data["close"] = True
    automation.save()
    assert row(automation).wake_at == clock.now
    AutomationModel.run()
    assert automation.finished()


def test_data_saved_through_the_model_row_makes_it_due_for_the_next_step(clock):
    automation = Greeting()
    model = AutomationModel.objects.get(pk=automation.id)
    model.data["close"] = True
    model.save()
    assert row(automation).wake_at == clock.now
    AutomationModel.run()
    assert automation.finished()
    finished = AutomationModel.objects.get(pk=automation.id)
    finished.data["note"] = "after the end"
    finished.save()  # a finished instance is never due again
    assert row(automation).wake_at is None


def test_autorun_instance_is_due_and_runs_at_once(clock):
    automation = Greeting()
    assert statuses(automation) == ["greet", "wait"]
    assert row(automation).wake_at == clock.now + timedelta(minutes=1)


def test_binding_to_an_existing_instance():
    automation = Greeting(autorun=False)
    by_model = Greeting(automation=AutomationModel.objects.get(pk=automation.id))
    by_id = Greeting(automation_id=automation.id)
    assert by_model.id == by_id.id == automation.id
    assert statuses(automation) == []  # binding does not run


def test_binding_checks_the_class():
    other = Ordinary(autorun=False)
    with pytest.raises(
        TypeError, match="is a tests.test_instances.Ordinary, not a tests.test_instances.Greeting"
    ):
        Greeting(automation_id=other.id)


class Ordinary(flow.Automation):
    end = flow.End()


def test_id_data_and_save():
    automation = Greeting(autorun=False)
    assert isinstance(automation.id, int)
    automation.data["note"] = "kept"
    automation.save()
    assert row(automation).data == {"note": "kept"}
    automation.data["bad"] = {1, 2}
    with pytest.raises(TypeError, match="must be JSON serializable"):
        automation.save()
    assert row(automation).data == {"note": "kept"}


def test_unsaved_data_changes_are_not_seen_by_the_engine():
    automation = Greeting(autorun=False)
    automation.data["close"] = True  # not saved
    automation.run()
    assert "closed" not in row(automation).data


def test_run_returns_the_node_it_stopped_at_and_the_end_node_when_finished():
    automation = Greeting(autorun=False)
    stopped = automation.run()
    assert stopped.name == "wait" and stopped is automation.wait
    automation.data["close"] = True
    automation.save()
    end = automation.run()
    assert end is automation.end and isinstance(end, flow.End)
    assert automation.finished() and automation.is_finished()


def test_run_returns_the_last_node_of_a_path_that_ran_past_the_end():
    class NoEnd(flow.Automation):
        first = flow.Execute(this.work)
        last = flow.Execute(this.work)

        def work(self, task):
            pass

    assert NoEnd(autorun=False).run() is not None
    instance = NoEnd(autorun=False)
    assert instance.run().name == "last" and instance.finished()


def test_run_on_a_split_returns_the_end_that_finished_it():
    class Both(flow.Automation):
        fork = flow.Split().Next(this.a).Next(this.b)
        a = flow.Execute(this.work).Next(this.meet)
        b = flow.Execute(this.work).Next(this.meet)
        meet = flow.Join()
        done = flow.End()

        def work(self, task):
            pass

    instance = Both(autorun=False)
    assert instance.run() is instance.done


def test_finished_reads_the_database():
    automation = Greeting()
    other_handle = Greeting(automation_id=automation.id)
    assert not other_handle.finished()
    automation.data["close"] = True
    automation.save()
    automation.run()
    assert other_handle.finished() is True
    assert other_handle.is_finished() is True


def test_run_on_a_finished_instance_raises():
    automation = Ordinary()
    assert automation.finished()
    with pytest.raises(AutomationFinishedError, match=f"{automation.id} has already finished"):
        automation.run()


def test_kill_deletes_the_instance_and_its_history():
    automation = Greeting()
    automation_id = automation.id
    automation.kill()
    assert not AutomationModel.objects.filter(pk=automation_id).exists()
    assert not AutomationTaskModel.objects.filter(automation_id=automation_id).exists()


def test_keys_are_random_stable_and_unguessable():
    first, second = Greeting(autorun=False), Greeting(autorun=False)
    key = first.get_key()
    assert key != second.get_key()
    assert len(key) >= 40 and key.replace("-", "").replace("_", "").isalnum()
    assert Greeting(automation_id=first.id).get_key() == key
    first.run()
    assert first.get_key() == key
    assert AutomationModel.objects.get_by_reference(key).pk == first.id


class Singleton(flow.Automation):
    unique = True
    wait = flow.Execute(this.noop).AsSoonAs(this.done)
    end = flow.End()

    def noop(self, task):
        return None

    def done(self, task):
        return self.data.get("done", False)


def test_unique_true_returns_the_running_instance():
    first = Singleton()
    second = Singleton()
    assert second.id == first.id
    assert AutomationModel.objects.count() == 1
    first.data["done"] = True
    first.save()
    first.run()
    assert first.finished()
    third = Singleton()
    assert third.id != first.id


def test_unique_does_not_bind_to_an_instance_stopped_by_an_error():
    first = Singleton()
    AutomationModel.objects.filter(pk=first.id).update(error="stopped", status="failed")
    assert Singleton().id != first.id


class PerEmail(flow.Automation):
    unique = ("email",)
    wait = flow.Execute(this.noop).AsSoonAs(False)

    def noop(self, task):
        return None


def test_unique_tuple_is_unique_per_parameter_values():
    ada = PerEmail(email="ada@example.com", name="Ada")
    ada_again = PerEmail(email="ada@example.com", name="Ada L.")
    bob = PerEmail(email="bob@example.com")
    assert ada_again.id == ada.id and ada_again.data["name"] == "Ada"
    assert bob.id != ada.id
    AutomationModel.objects.filter(pk=ada.id).update(finished=True, wake_at=None, status="finished")
    assert PerEmail(email="ada@example.com").id != ada.id


def test_unique_binding_does_not_run_the_running_instance_again():
    first = PerEmail(email="ada@example.com")
    tasks_before = statuses(first)
    PerEmail(email="ada@example.com")
    assert statuses(first) == tasks_before


def test_the_database_refuses_a_second_running_unique_instance():
    from django.db import IntegrityError, transaction

    first = PerEmail(email="ada@example.com")
    duplicate = AutomationModel(
        automation_class=first.get_automation_class_name(), unique_key=first._model.unique_key
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_get_automation_class_name_and_model_access():
    automation = Greeting(autorun=False)
    model = AutomationModel.objects.get(pk=automation.id)
    assert automation.get_automation_class_name() == "tests.test_instances.Greeting"
    assert model.automation_class == "tests.test_instances.Greeting"
    assert model.get_automation_class() is Greeting
    assert isinstance(model.instance, Greeting) and model.instance.id == automation.id
    assert model.instance is model.instance  # kept on the row
    assert automation.model_class is AutomationModel


class Parent(flow.Automation):
    first = flow.Execute(this.mark)
    middle = flow.Execute(this.mark)
    last = flow.Execute(this.mark)

    def mark(self, task):
        self.data.setdefault("seen", []).append(task.status)


class Child(Parent):
    middle = flow.Execute(this.shout)

    def shout(self, task):
        self.data.setdefault("seen", []).append("MIDDLE")


def test_subclass_instances_run_the_override_at_the_inherited_position():
    assert Child().data["seen"] == ["first", "MIDDLE", "last"]
    assert Parent().data["seen"] == ["first", "middle", "last"]


def test_tasks_give_access_to_the_instance_data(clock):
    automation = Greeting(note="x")
    task = AutomationTaskModel.objects.get(automation_id=automation.id, status="wait")
    assert task.data == row(automation).data
    assert task.hours_since_created() == 0
    clock.jump(minutes=90)
    assert task.hours_since_created() == 1.5
    finished = AutomationTaskModel.objects.get(automation_id=automation.id, status="greet")
    assert finished.hours_since_created() == 0


class Background(flow.Automation):
    work = flow.Execute(this.note_thread)

    def note_thread(self, task):
        self.data["thread"] = threading.current_thread().name


def test_nice_without_a_worker_runs_the_instance_in_place():
    automation = Background(autorun=False)
    assert automation.nice() is None
    assert automation.finished()
    assert row(automation).data == {"thread": threading.current_thread().name}


def test_nice_with_a_worker_publishes_a_wake_event_instead(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ATM_WORKER = True
    published = []
    monkeypatch.setattr(events, "publish_wake", lambda pk, at=None: published.append(pk))
    automation = Background(autorun=False)
    with django_capture_on_commit_callbacks(execute=True):
        automation.nice()
    assert published == [automation.id]
    assert not automation.finished()
    assert row(automation).wake_at is not None  # due: a sweep runs it if the event is lost
