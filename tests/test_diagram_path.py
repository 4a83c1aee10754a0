"""An instance's diagram tells the truth: the edge it took, the nodes it skipped, how often it came."""

from xml.etree import ElementTree

import pytest

from automations import diagram, flow
from automations.diagram.state import instance_message
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


class Greeting(flow.Automation):
    """Both branches of the decision lead to ``welcome``: "yes" by name, "no" as the next node."""

    check = flow.If(this.is_vip).Then(this.welcome)
    welcome = flow.Execute(this.greet)
    end = flow.End()

    def is_vip(self, task):
        return self.data.get("vip", False)

    def greet(self, task): ...


class Offer(flow.Automation):
    check = flow.If(this.is_vip).Then(this.gift).Else(this.letter)
    gift = flow.Execute().Next(this.survey)
    letter = flow.Execute().Next(this.survey)
    survey = flow.Execute().SkipIf(this.asked_already)
    approve = flow.Execute().AsSoonAs(this.is_approved)
    thank = flow.Execute()
    end = flow.End()

    def is_vip(self, task):
        return self.data.get("vip", False)

    def asked_already(self, task):
        return True

    def is_approved(self, task):
        return self.data.get("approved", False)


class Retrying(flow.Automation):
    attempt = flow.Execute(this.try_once)
    again = flow.If(this.should_retry).Then(this.attempt)
    end = flow.End()

    def try_once(self, task):
        self.data["tries"] = self.data.get("tries", 0) + 1

    def should_retry(self, task):
        return self.data["tries"] < 3


def state_of(automation):
    model = AutomationModel.objects.get(pk=automation.id)
    return diagram.instance_state(diagram.build_graph(type(automation)), model), model


def lit(state, source, target):
    return sorted(
        kind
        for edge_source, edge_target, kind in state.taken
        if (edge_source, edge_target) == (source, target)
    )


@pytest.mark.parametrize(("vip", "branch"), [(True, "then"), (False, "else")])
def test_a_decision_whose_branches_meet_lights_exactly_the_edge_taken(vip, branch):
    graph = diagram.build_graph(Greeting)
    assert {edge.kind for edge in graph.edges_between("check", "welcome")} == {"then", "else"}

    state, model = state_of(Greeting(vip=vip))

    assert lit(state, "check", "welcome") == [branch]
    assert state.taken == {("check", "welcome", branch), ("welcome", "end", "next")}
    svg = ElementTree.fromstring(diagram.render_svg(graph, state))
    lit_edges = [
        g.get("data-kind") for g in svg.iter(SVG + "g") if "atm-taken" in (g.get("class") or "").split()
    ]
    assert sorted(lit_edges) == sorted([branch, "next"])


def test_the_decision_records_its_answer_on_its_task():
    automation = Greeting(vip=True)
    messages = AutomationTaskModel.objects.filter(automation_id=automation.id).order_by("pk")
    assert [(task.status, task.message) for task in messages] == [
        ("check", "yes"),
        ("welcome", "OK"),
        ("end", "OK"),
    ]


def test_nodes_off_the_way_and_nodes_skipped_by_a_modifier_are_skipped_not_ran():
    automation = Offer(vip=False)
    state, _model = state_of(automation)

    assert state.current == {"approve"}
    assert state.visited == {"check", "letter"}
    assert state.skipped == {"gift", "survey"}  # off the way; passed by SkipIf
    assert lit(state, "letter", "survey") == ["next"] and lit(state, "survey", "approve") == ["next"]
    # what lies ahead is not reached yet, not skipped
    assert {"thank", "end"}.isdisjoint(state.skipped | state.visited)

    automation.data["approved"] = True
    automation.save()
    automation.run()
    state, model = state_of(automation)
    assert model.finished
    assert state.visited == {"check", "letter", "approve", "thank", "end"}
    assert state.skipped == {"gift", "survey"}


def test_a_node_skipped_by_its_modifier_shows_the_skipped_style():
    state, _model = state_of(Offer(vip=True))
    svg = ElementTree.fromstring(diagram.render_svg(diagram.build_graph(Offer), state, id_prefix="n-"))
    nodes = {g.get("data-node"): g.get("class").split() for g in svg.iter(SVG + "g") if g.get("data-node")}
    assert "atm-skipped" in nodes["survey"] and "atm-visited" not in nodes["survey"]
    assert "atm-skipped" in nodes["letter"] and "atm-visited" in nodes["gift"]
    assert not {"atm-skipped", "atm-visited"} & set(nodes["thank"])


def test_a_loop_run_three_times_says_three():
    automation = Retrying()
    state, model = state_of(automation)

    assert model.finished and automation.data["tries"] == 3
    assert state.visits == {"attempt": 3, "again": 3, "end": 1}
    assert state.taken == {
        ("attempt", "again", "next"),
        ("again", "attempt", "then"),
        ("again", "end", "else"),
    }
    svg = ElementTree.fromstring(diagram.render_svg(diagram.build_graph(Retrying), state, id_prefix="n-"))
    attempt = svg.find(f".//{SVG}g[@id='n-attempt']")
    assert "atm-revisited" in attempt.get("class").split()
    badge = attempt.find(f"{SVG}g[@class='atm-visits']")
    assert (badge.get("data-visits"), badge.find(SVG + "text").text) == ("3", "×3")
    assert badge.find(SVG + "title").text == "visited 3 times"
    end = svg.find(f".//{SVG}g[@id='n-end']")
    assert "atm-revisited" not in end.get("class").split()


def test_the_live_message_carries_the_same_state():
    automation = Offer(vip=False)
    state, model = state_of(automation)
    message = instance_message(model, state)
    assert message["skipped"] == ["gift", "survey"]
    assert message["taken"] == [
        ["check", "letter", "else"],
        ["letter", "survey", "next"],
        ["survey", "approve", "next"],
    ]
    assert message["visits"] == {"approve": 1, "check": 1, "letter": 1, "survey": 1}
    assert message["status"] == "Waiting for a message at approve."


def test_a_path_closed_by_the_end_did_not_run_its_node():
    class Race(flow.Automation):
        fork = flow.Split().Next(this.fast).Next(this.slow)
        fast = flow.If(this.hurry).Then(this.end).Else(this.meet)
        slow = flow.Execute().AsSoonAs(this.never).Next(this.meet)
        meet = flow.Join()
        end = flow.End()

        def hurry(self, task):
            return True

        def never(self, task):
            return False

    state, model = state_of(Race())
    assert model.finished
    assert state.visited == {"fork", "fast", "end"}
    assert state.skipped == {"slow", "meet"}
    assert state.taken == {("fork", "fast", "split"), ("fork", "slow", "split"), ("fast", "end", "then")}


def test_a_retried_node_counts_both_visits_and_lights_its_edge_once():
    class Flaky(flow.Automation):
        first = flow.Execute()
        boom = flow.Execute(this.explode)
        end = flow.End()

        def explode(self, task):
            if not self.data.get("fixed"):
                raise RuntimeError("boom")

    automation = Flaky()
    model = AutomationModel.objects.get(pk=automation.id)
    state, _model = state_of(automation)
    assert state.failed == {"boom"} and state.skipped == set()
    failed = AutomationTaskModel.objects.get(automation=model, status="boom")
    AutomationTaskModel.objects.create(automation=model, status="boom", created=failed.finished, path="")
    AutomationModel.objects.filter(pk=model.pk).update(error="", status="running")
    automation.data["fixed"] = True
    automation.save()
    automation.run()
    state, model = state_of(automation)
    assert model.finished and state.visits["boom"] == 2
    assert state.taken == {("first", "boom", "next"), ("boom", "end", "next")}
