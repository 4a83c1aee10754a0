"""Retries and deadlines in flow diagrams: a badge on the node, an edge to the deadline's route."""

from datetime import timedelta

import pytest

from automations import diagram, flow
from automations.diagram.path import walked
from automations.flow import this
from automations.models import AutomationTaskModel
from tests.approvals.forms import ApprovalForm


class Escalating(flow.Automation):
    charge = flow.Execute(this.call_bank).Retry(attempts=5, backoff=flow.Exponential(first=10, factor=2))
    notify = flow.SendMessage(this.other, "ping").Retry(attempts=3, backoff=timedelta(minutes=1))
    ask = flow.Form(ApprovalForm).Deadline(days=2, then=this.escalate)
    done = flow.End()
    escalate = flow.Form(ApprovalForm).Deadline(weeks=1).Next(this.done)
    wait = flow.Execute().AsSoonAs(this.is_ready).Deadline(this.patience, then=this.done)

    def call_bank(self, task): ...

    def other(self, task): ...

    def is_ready(self, task): ...

    def patience(self, task): ...


def test_retries_are_badges_and_deadlines_are_edges_to_their_route():
    graph = diagram.build_graph(Escalating)
    badges = {node.name: node.badges for node in graph.nodes}
    assert badges["charge"][-1] == "retry 5×, 10 s ×2"
    assert badges["notify"][-1] == "retry 3×, every 1 min"
    assert badges["escalate"][-1] == "deadline 7 days"  # no route: on to its next node
    deadlines = {(e.source, e.target, e.label) for e in graph.edges if e.kind == "deadline"}
    assert deadlines == {("ask", "escalate", "after 2 days"), ("wait", "done", "after patience")}


def test_every_renderer_draws_the_deadline_edge():
    graph = diagram.build_graph(Escalating)
    assert 'class="atm-edge atm-edge-deadline' in diagram.render_svg(graph)
    assert '"ask" -> "escalate" [color="#b07800", style=dashed, label="after 2 days"];' in diagram.render_dot(
        graph
    )
    assert '  n_ask -.->|"after 2 days"| n_escalate' in diagram.render_mermaid(graph).splitlines()


@pytest.mark.django_db
def test_an_instance_whose_deadline_passed_took_the_deadline_edge(clock):
    class Short(flow.Automation):
        ask = flow.Form(ApprovalForm).Deadline(hours=1, then=this.late).Next(this.done)
        done = flow.End()
        late = flow.Execute().Next(this.done)

    short = Short()
    clock.advance(hours=1)
    tasks = AutomationTaskModel.objects.filter(automation_id=short.id).order_by("pk")
    way = walked(diagram.build_graph(Short), tasks)
    assert ("ask", "late", "deadline") in way.taken and ("ask", "done", "next") not in way.taken
