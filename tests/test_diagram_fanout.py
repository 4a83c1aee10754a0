"""The diagram of fan-outs (``ForEach``) and sub-automations (``SubAutomation``)."""

from xml.etree import ElementTree

from automations import diagram, flow
from automations.flow import this


class Refund(flow.Automation):
    pay_back = flow.Execute(this.pay)
    end = flow.End()

    def pay(self, task):
        pass


class Returns(flow.Automation):
    each = flow.ForEach("parcels").Do(this.inspect).Limit(5).Into("verdicts")
    inspect = flow.Execute(this.inspect_parcel).Next(this.inspected)
    inspected = flow.Join()
    refund = flow.SubAutomation(Refund, data={}).Taking("amount").Into("refund").OnError(this.complain)
    end = flow.End()
    complain = flow.Execute(this.inspect_parcel).Next(this.end)

    def inspect_parcel(self, task):
        pass


def test_fan_out_and_child_nodes_have_kinds_badges_and_edges():
    graph = diagram.build_graph(Returns)
    nodes = {node.name: node for node in graph.nodes}
    assert nodes["each"].kind == "foreach"
    assert nodes["each"].badges == ["for each item of parcels", "at most 5 at once", "results into verdicts"]
    assert nodes["refund"].kind == "subautomation"
    assert nodes["refund"].badges == ["starts Refund", "takes amount", "result into refund"]
    edges = {(edge.source, edge.target): edge for edge in graph.edges}
    assert edges["each", "inspect"].label == "each item"
    assert edges["refund", "complain"].kind == "on_error"


def test_every_renderer_draws_them():
    graph = diagram.build_graph(Returns)
    svg = diagram.render_svg(graph)
    root = ElementTree.fromstring(svg)
    kinds = {g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert any("atm-kind-foreach" in (kind or "") for kind in kinds)
    assert any("atm-kind-subautomation" in (kind or "") for kind in kinds)
    assert '"refund" [label="refund\\nSub-automation' in diagram.render_dot(graph)
    assert '  n_refund[["<b>refund</b><br/>Sub-automation' in diagram.render_mermaid(graph)
