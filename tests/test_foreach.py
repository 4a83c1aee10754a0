"""ForEach: one path per item, a limit on paths at once, the results joined in order."""

from datetime import timedelta
from io import StringIO

import pytest
from django import forms
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from automations import flow
from automations.flow import this
from automations.models import AutomationTaskModel
from tests.helpers import open_statuses, row, statuses

pytestmark = pytest.mark.django_db


class ShipAll(flow.Automation):
    ship_all = flow.ForEach("orders").Do(this.ship).Into("receipts")
    ship = flow.Execute(this.ship_order).Next(this.shipped)
    shipped = flow.Join()
    done = flow.Execute(this.note_done)
    end = flow.End()

    def ship_order(self, task):
        return {"order": self.item, "position": self.item_index}

    def note_done(self, task):
        self.data["done"] = True


def test_each_item_runs_its_path_and_the_join_collects_results_in_order():
    automation = ShipAll(orders=["a", "b", "c"])
    assert automation.finished()
    data = row(automation).data
    assert data["receipts"] == [
        {"order": "a", "position": 0},
        {"order": "b", "position": 1},
        {"order": "c", "position": 2},
    ]
    assert data["done"] is True
    assert statuses(automation).count("ship") == 3
    assert statuses(automation).count("done") == 1


def test_no_items_go_on_after_the_join_at_once():
    automation = ShipAll(orders=[])
    assert automation.finished()
    assert row(automation).data["receipts"] == []
    assert "ship" not in statuses(automation)
    assert statuses(automation).count("done") == 1


def test_one_item():
    automation = ShipAll(orders=[{"id": 7}])
    assert automation.finished()
    assert row(automation).data["receipts"] == [{"order": {"id": 7}, "position": 0}]


class Throttled(flow.Automation):
    spread = flow.ForEach("jobs").Do(this.work).Limit(2).Into("results")
    work = flow.Execute(this.start_job).Next(this.finish)
    finish = flow.Execute(this.finish_job).AfterWaitingFor(timedelta(minutes=10)).Next(this.meet)
    meet = flow.Join()
    end = flow.End()

    def start_job(self, task):
        running = self.data.setdefault("running", [])
        running.append(self.item)
        self.data["most"] = max(self.data.get("most", 0), len(running))

    def finish_job(self, task):
        self.data["running"].remove(self.item)
        return self.item * 10


def test_the_limit_holds_and_the_others_wait_in_order(clock):
    automation = Throttled(jobs=[1, 2, 3, 4, 5])
    assert sorted(open_statuses(automation)) == ["finish", "finish"]
    assert row(automation).data["running"] == [1, 2]
    clock.advance(minutes=10)
    assert row(automation).data["running"] == [3, 4]
    clock.advance(minutes=10)
    assert row(automation).data["running"] == [5]
    clock.advance(minutes=10)
    assert automation.finished()
    data = row(automation).data
    assert data["most"] == 2
    assert data["results"] == [10, 20, 30, 40, 50]


def test_a_missing_key_stops_the_instance_with_a_clear_error():
    automation = ShipAll(other=1)
    assert "ShipAll.ship_all: ForEach('orders') finds no such key in the data." in row(automation).error


def test_next_is_refused():
    with pytest.raises(TypeError, match=r"give the path of each item with \.Do\(node\)"):
        flow.ForEach("x").Next(this.y)


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_a_wrong_limit_is_refused(limit):
    with pytest.raises(ValueError, match="give a whole number of paths"):
        flow.ForEach("x").Limit(limit)


class Squares(flow.Automation):
    spread = flow.ForEach("numbers").Do(this.square).Limit(100).Into("squares")
    square = flow.Execute(this.square_item).Next(this.meet)
    meet = flow.Join()
    end = flow.End()

    def square_item(self, task):
        return self.item * self.item


def test_ten_thousand_items_take_a_few_statements_per_path():
    numbers = list(range(10_000))
    automation = Squares(autorun=False, numbers=numbers)
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql.split(None, 1)[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        while not automation.finished():
            automation.run()
    # Each path: its node's savepoint (two statements), its rows written in bulk with the others.
    assert 2 * len(numbers) < len(statements) < 2.1 * len(numbers)
    assert row(automation).data["squares"] == [n * n for n in numbers]
    assert not open_statuses(automation)


def test_a_for_each_without_do_is_a_declaration_error():
    with pytest.raises(flow.AutomationDeclarationError, match=r"Lost.spread: ForEach\(\) has no paths"):

        class Lost(flow.Automation):
            spread = flow.ForEach("items")
            meet = flow.Join()


def test_a_limited_fan_out_through_automation_step(clock):
    automation = Throttled(jobs=[1, 2, 3])
    for _ in range(3):
        clock.jump(minutes=10)  # time passes, nothing runs until cron's automation_step
        call_command("automation_step", stdout=StringIO())
    assert automation.finished()
    assert row(automation).data["results"] == [10, 20, 30]
    assert row(automation).data["most"] == 2


class LineApproval(forms.Form):
    approved = forms.BooleanField(required=False)


class ReviewLines(flow.Automation):
    """A person reviews each line of an order on its own form."""

    spread = flow.ForEach("lines").Do(this.review).Into("reviews")
    review = (
        flow.Form(LineApproval, template_name="testapp/line_review.html")
        .User(username="reviewer")
        .Next(this.reviewed)
    )
    reviewed = flow.Join()
    end = flow.End()

    def line_name(self):
        return f"line {self.item_index + 1}: {self.item['sku']}"


def test_a_form_on_a_path_shows_its_item_and_takes_it(client):
    reviewer = User.objects.create_user("reviewer")
    client.force_login(reviewer)
    order = ReviewLines(lines=[{"sku": "desk"}, {"sku": "lamp"}])
    tasks = AutomationTaskModel.objects.filter(automation_id=order.id, status="review").order_by("pk")
    assert tasks.count() == 2
    for index, (task, sku) in enumerate(zip(tasks, ["desk", "lamp"], strict=True)):
        response = client.get(reverse("automations:task", args=[task.pk]))
        assert response.status_code == 200
        assert response.context["item"] == {"sku": sku} and response.context["item_index"] == index
        assert f"Review line {index + 1}: {sku}" in response.text  # self.item while the page renders
        assert f"Item {index}: {sku}" in response.text
    response = client.post(reverse("automations:task", args=[tasks[1].pk]), {"approved": "on"})
    assert response.status_code == 302
    client.post(reverse("automations:task", args=[tasks[0].pk]), {})
    assert row(order.id).data["reviews"] == [{"approved": False}, {"approved": True}]


def test_a_task_outside_a_fan_out_has_no_item():
    from automations.engine import path_item_of

    order = ReviewLines(lines=[{"sku": "desk"}])
    spread = AutomationTaskModel.objects.get(automation_id=order.id, status="spread")
    with path_item_of(spread) as found:
        assert found is None
