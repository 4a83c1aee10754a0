"""The ten-step workload, declared as the older implementation's documentation shows.

Its documentation: an automation is a subclass of ``flow.Automation`` in an app's
``automations.py``; ``flow.Execute(func, **kwargs)`` calls ``func(task, **kwargs)``; state
lives in ``self.data``, which ``self.save()`` writes back; instantiating the class starts it.
"""

from automations import flow
from automations.flow import this


class TenSteps(flow.Automation):
    step1 = flow.Execute(this.add, number=1)
    step2 = flow.Execute(this.add, number=2)
    step3 = flow.Execute(this.add, number=3)
    step4 = flow.Execute(this.add, number=4)
    step5 = flow.Execute(this.add, number=5)
    step6 = flow.Execute(this.add, number=6)
    step7 = flow.Execute(this.add, number=7)
    step8 = flow.Execute(this.add, number=8)
    step9 = flow.Execute(this.add, number=9)
    step10 = flow.Execute(this.add, number=10)
    end = flow.End()

    def add(self, task, number):
        self.data["total"] = self.data.get("total", 0) + number
        self.save()
        return number
