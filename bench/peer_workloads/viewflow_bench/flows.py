"""The flows of Viewflow's side of the side-by-side benchmark (Viewflow finds flows in installed apps)."""

from viewflow import this
from viewflow.workflow import flow

STEPS = 10


def adding(number):
    """A ``Function`` callback that adds ``number`` to the process's own data and saves it."""

    def add(activation):
        process = activation.process
        process.data = {**(process.data or {}), "total": (process.data or {}).get("total", 0) + number}
        process.save()

    add.__name__ = f"add_{number}"
    return add


def start_process(activation):
    activation.process.data = {"total": 0}
    return activation.process


class TenStepsFlow(flow.Flow):
    """Started from code, ten ``Function`` nodes, each updating the process's data, then the end."""

    start = flow.StartHandle(start_process).Next(this.step1)
    step1 = flow.Function(adding(1)).Next(this.step2)
    step2 = flow.Function(adding(2)).Next(this.step3)
    step3 = flow.Function(adding(3)).Next(this.step4)
    step4 = flow.Function(adding(4)).Next(this.step5)
    step5 = flow.Function(adding(5)).Next(this.step6)
    step6 = flow.Function(adding(6)).Next(this.step7)
    step7 = flow.Function(adding(7)).Next(this.step8)
    step8 = flow.Function(adding(8)).Next(this.step9)
    step9 = flow.Function(adding(9)).Next(this.step10)
    step10 = flow.Function(adding(10)).Next(this.end)
    end = flow.End()


class FanOutFlow(flow.Flow):
    """Started from code, a ``Split`` into four ``Function`` nodes, a ``Join``, the end."""

    start = flow.StartHandle(start_process).Next(this.fan)
    fan = flow.Split().Next(this.one).Next(this.two).Next(this.three).Next(this.four)
    one = flow.Function(adding(1)).Next(this.meet)
    two = flow.Function(adding(2)).Next(this.meet)
    three = flow.Function(adding(3)).Next(this.meet)
    four = flow.Function(adding(4)).Next(this.meet)
    meet = flow.Join().Next(this.end)
    end = flow.End()
