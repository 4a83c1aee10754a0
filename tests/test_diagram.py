"""Flow diagrams (``automations.diagram``): the graph read from declarations, and its renderers."""

from datetime import datetime, timedelta
from io import StringIO
from xml.etree import ElementTree

import pytest
from django.core.management import CommandError, call_command

from automations import diagram, flow
from automations.diagram.layout import layout
from automations.flow import this

SVG = "{http://www.w3.org/2000/svg}"


class Branching(flow.Automation):
    class Meta:
        verbose_name = "Branching"

    check = flow.If(this.is_vip).Then(this.vip).Else(this.standard)
    vip = flow.Execute(this.welcome_vip).Next(this.risky)
    standard = flow.Execute(this.welcome).Next(this.risky)
    risky = flow.Execute(this.charge).OnError(this.apologise).Next(this.end)
    apologise = flow.Execute(this.sorry)
    end = flow.End()

    def is_vip(self, task):
        return True

    def welcome_vip(self, task): ...

    def welcome(self, task): ...

    def charge(self, task): ...

    def sorry(self, task): ...


class Parallel(flow.Automation):
    fan_out = flow.Split().Next(this.sales).Next(this.support)
    sales = flow.Execute().Next(this.meet)
    support = flow.Execute().Next(this.meet)
    meet = flow.Join()
    report = flow.Execute()
    again = flow.Repeat(this.report).At(7, 30)


class Waiting(flow.Automation):
    wait = flow.Execute().AfterWaitingFor(timedelta(days=3, hours=2))
    until = flow.Execute().AfterWaitingUntil(datetime(2030, 1, 7, 9, 0))
    ready = flow.Execute().AsSoonAs(this.is_ready).SkipAfter(timedelta(minutes=30))
    maybe = flow.Execute(threaded=True).SkipIf(lambda task: False)
    tell = flow.SendMessage(this.other, "ping")
    last = flow.If(this.is_ready).Then(this.done)
    done = flow.End()

    def is_ready(self, task):
        return True

    def other(self, task):
        return None


def edges(graph):
    return {(edge.source, edge.target, edge.kind, edge.label, edge.back) for edge in graph.edges}


def test_nodes_come_in_declaration_order_with_their_kinds():
    graph = diagram.build_graph(Branching)
    assert [(node.name, node.kind) for node in graph.nodes] == [
        ("check", "if"),
        ("vip", "execute"),
        ("standard", "execute"),
        ("risky", "execute"),
        ("apologise", "execute"),
        ("end", "end"),
    ]
    assert graph.class_path == "tests.test_diagram.Branching" and graph.verbose_name == "Branching"


def test_then_else_next_and_on_error_become_edges():
    assert edges(diagram.build_graph(Branching)) == {
        ("check", "vip", "then", "yes", False),
        ("check", "standard", "else", "no", False),
        ("vip", "risky", "next", "", False),
        ("standard", "risky", "next", "", False),
        ("risky", "end", "next", "", False),
        ("risky", "apologise", "on_error", "on error", False),
        ("apologise", "end", "next", "", False),  # the next declared node
    }


def test_split_paths_join_and_the_repeat_back_edge():
    graph = diagram.build_graph(Parallel)
    assert edges(graph) == {
        ("fan_out", "sales", "split", "", False),
        ("fan_out", "support", "split", "", False),
        ("sales", "meet", "next", "", False),
        ("support", "meet", "next", "", False),
        ("meet", "report", "join", "", False),
        ("report", "again", "next", "", False),
        ("again", "report", "repeat", "daily at 07:30", True),
    }
    assert [node.kind for node in graph.nodes] == ["split", "execute", "execute", "join", "execute", "repeat"]


def test_an_if_without_else_continues_with_the_next_node():
    graph = diagram.build_graph(Waiting)
    assert {e for e in edges(graph) if e[0] == "last"} == {
        ("last", "done", "then", "yes", False),
        ("last", "done", "else", "no", False),
    }


def test_waits_and_skips_are_badges():
    graph = diagram.build_graph(Waiting)
    badges = {node.name: node.badges for node in graph.nodes}
    assert badges["wait"] == ["wait 3 days 2 h"]
    assert badges["until"] == ["wait until 2030-01-07 09:00"]
    assert badges["ready"] == ["as soon as is_ready", "skip after 30 min"]
    assert badges["maybe"] == ["skip if a function", "in the worker"]
    assert badges["tell"] == ["sends ping"]
    assert badges["last"] == ["if is_ready"]


def test_forms_show_who_processes_them_and_branch_callables_what_runs():
    from tests.approvals.forms import ApprovalForm

    class People(flow.Automation):
        ask = flow.Form(ApprovalForm, description="Decide").Group(name="Managers").Permission("a.b")
        anybody = flow.Form(ApprovalForm)
        pick = flow.If(True).Then(this.go).Else(this.other)
        end = flow.End()

        def go(self, task): ...

        def other(self, task): ...

    graph = diagram.build_graph(People)
    assert graph.node("ask").badges == ["for group name=Managers", "needs a.b"]
    assert graph.node("ask").description == "Decide"
    assert graph.node("anybody").badges == ["for anybody"]
    assert graph.node("pick").badges == ["if True", "yes: runs go", "no: runs other"]


def test_ranks_go_down_the_flow_and_branches_sit_side_by_side():
    drawn = layout(diagram.build_graph(Branching))
    boxes = drawn.boxes
    assert boxes["check"].bottom < boxes["vip"].y
    assert boxes["vip"].y == boxes["standard"].y
    assert boxes["vip"].right < boxes["standard"].x or boxes["standard"].right < boxes["vip"].x
    assert boxes["risky"].y > boxes["vip"].bottom
    assert boxes["end"].y > boxes["apologise"].bottom


def test_no_two_nodes_overlap_and_everything_is_inside_the_drawing():
    for automation in (Branching, Parallel, Waiting):
        drawn = layout(diagram.build_graph(automation))
        boxes = list(drawn.boxes.values())
        for position, one in enumerate(boxes):
            assert 0 <= one.x and one.right <= drawn.width and 0 <= one.y and one.bottom <= drawn.height
            for other in boxes[position + 1 :]:
                apart = one.right <= other.x or other.right <= one.x or one.bottom <= other.y
                assert apart or other.bottom <= one.y, (one.name, other.name)
        for route in drawn.routes:
            assert all(0 <= x <= drawn.width and 0 <= y <= drawn.height for x, y in route.points)


def test_edges_that_skip_ranks_do_not_cross_the_nodes_between():
    drawn = layout(diagram.build_graph(Branching))
    route = next(r for r in drawn.routes if (r.edge.source, r.edge.target) == ("risky", "end"))
    apologise = drawn.boxes["apologise"]
    for (x0, y0), (x1, y1) in zip(route.points, route.points[1:], strict=False):
        if x0 == x1:  # a vertical segment
            low, high = sorted((y0, y1))
            crosses = apologise.x < x0 < apologise.right and low < apologise.bottom and high > apologise.y
            assert not crosses


def parsed_svg(text):
    return ElementTree.fromstring(text)


def test_the_svg_is_well_formed_with_one_group_per_node_and_edge():
    graph = diagram.build_graph(Parallel)
    root = parsed_svg(diagram.render_svg(graph))
    assert root.tag == SVG + "svg"
    groups = {g.get("id"): g for g in root.iter(SVG + "g") if g.get("id")}
    assert set(groups) == {f"atm-node-{node.name}" for node in graph.nodes}
    assert groups["atm-node-again"].get("class") == "atm-node atm-kind-repeat"
    texts = ["".join(t.itertext()) for t in groups["atm-node-fan_out"].iter(SVG + "text")]
    assert texts[:2] == ["fan_out", "Split into parallel paths"]
    drawn_edges = [g for g in root.iter(SVG + "g") if "atm-edge" in (g.get("class") or "")]
    assert sorted((g.get("data-source"), g.get("data-target")) for g in drawn_edges) == sorted(
        (edge.source, edge.target) for edge in graph.edges
    )
    repeat = next(g for g in drawn_edges if g.get("data-kind") == "repeat")
    assert "".join(repeat.itertext()) == "daily at 07:30"


def test_the_svg_escapes_what_the_declaration_says():
    class Odd(flow.Automation):
        class Meta:
            verbose_name = "Fish & <Chips>"

        step = flow.Execute(description='Say "hi" & <wave>')

    root = parsed_svg(diagram.render_svg(diagram.build_graph(Odd)))
    assert root.find(SVG + "title").text == "Flow of Fish & <Chips>"
    assert 'Say "hi" & <wave>' in "".join(root.itertext())


def test_the_svg_marks_counts_and_an_instances_path():
    graph = diagram.build_graph(Branching)
    state = diagram.DiagramState(
        counts={"vip": 3},
        current={"risky"},
        visited={"check", "vip"},
        taken={("check", "vip", "then")},
        instance=True,
    )
    root = parsed_svg(diagram.render_svg(graph, state, id_prefix="x-"))
    assert "atm-instance" in root.get("class")
    groups = {g.get("id"): g for g in root.iter(SVG + "g") if g.get("id")}
    assert "atm-current" in groups["x-risky"].get("class")
    assert "atm-visited" in groups["x-vip"].get("class") and "atm-current" not in groups["x-vip"].get("class")
    counts = [g for g in groups["x-vip"].iter(SVG + "g") if g.get("data-count")]
    assert [g.get("data-count") for g in counts] == ["3"]
    taken = [g for g in root.iter(SVG + "g") if "atm-taken" in (g.get("class") or "").split()]
    assert [(g.get("data-source"), g.get("data-target")) for g in taken] == [("check", "vip")]


def test_dot_text():
    text = diagram.render_dot(diagram.build_graph(Branching), {"vip": 2})
    assert text.startswith('digraph "tests.test_diagram.Branching" {\n')
    assert '"check" -> "vip" [color="#25805a", label="yes"];' in text
    assert '"risky" -> "apologise" [color="#c0262d", style=dashed, label="on error"];' in text
    assert '"vip" [label="vip\\nExecute\\nruns welcome_vip\\n[2]"' in text
    assert text.rstrip().endswith("}")


def test_dot_repeat_edges_do_not_steer_the_ranks():
    text = diagram.render_dot(diagram.build_graph(Parallel))
    assert (
        '"again" -> "report" [color="#a83a6d", style=dotted, constraint=false, label="daily at 07:30"];'
        in text
    )


def test_mermaid_text():
    text = diagram.render_mermaid(diagram.build_graph(Branching))
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '  n_check{{"<b>check</b><br/>Decision<br/>if is_vip"}}' in lines
    assert '  n_end(["<b>end</b><br/>End"])' in lines  # "end" alone is a Mermaid keyword
    assert '  n_check -->|"yes"| n_vip' in lines
    assert '  n_risky -.->|"on error"| n_apologise' in lines


def test_mermaid_escapes_quotes():
    class Quoted(flow.Automation):
        step = flow.Execute(description='a "b" | c')

    assert '"<b>step</b><br/>Execute<br/>a #quot;b#quot; #124; c"' in diagram.render_mermaid(
        diagram.build_graph(Quoted)
    )


def test_render_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="Unknown diagram format 'png'; choose one of svg, dot, mermaid."):
        diagram.render(diagram.build_graph(Branching), "png")


# -- the command ------------------------------------------------------------------------------------


def test_the_command_writes_svg_by_default():
    out = StringIO()
    call_command("automation_graph", "tests.test_diagram.Branching", stdout=out)
    assert parsed_svg(out.getvalue()).tag == SVG + "svg"


@pytest.mark.parametrize("format", ["dot", "mermaid"])
def test_the_command_writes_other_formats(format):
    out = StringIO()
    call_command("automation_graph", "tests.test_diagram.Parallel", "--format", format, stdout=out)
    assert out.getvalue() == diagram.render(diagram.build_graph(Parallel), format)


def test_the_command_writes_a_file(tmp_path):
    target = tmp_path / "flow.mmd"
    err = StringIO()
    call_command(
        "automation_graph", "tests.test_diagram.Parallel", "--format=mermaid", "-o", str(target), stderr=err
    )
    assert target.read_text().startswith("flowchart TD")
    assert f"to {target}" in err.getvalue()


@pytest.mark.parametrize("path", ["tests.test_diagram.Nope", "tests.nothing_here.X", "os.path", "Branching"])
def test_the_command_refuses_what_is_not_an_automation(path):
    with pytest.raises(
        CommandError, match=f"'{path}' is not an automation class.*tests.test_diagram.Branching"
    ):
        call_command("automation_graph", path)


@pytest.mark.django_db
def test_the_command_numbers_waiting_instances_on_request():
    from tests.people.flows import ForAda, make_user

    make_user("ada")
    ForAda()
    ForAda()
    out = StringIO()
    call_command("automation_graph", "tests.people.flows.ForAda", "--format=dot", "--counts", stdout=out)
    assert "\\n[2]" in out.getvalue()


def test_flow_control_and_long_calls_are_badges(settings):
    class Limited(flow.Automation):
        sync = flow.Execute(this.work, threaded=True).Concurrency(3, key="customer_id")
        throttled = flow.Execute(this.work).RateLimit(10, per=timedelta(minutes=1))
        end = flow.End()

        def work(self, task):
            pass

    badges = {node.name: node.badges for node in diagram.build_graph(Limited).nodes}
    assert badges["sync"] == ["runs work", "in the worker", "at most 3 at once per customer_id"]
    assert badges["throttled"] == ["runs work", "10 per 1 min"]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    badges = {node.name: node.badges for node in diagram.build_graph(Limited).nodes}
    assert badges["sync"][1] == "on the task backend"
