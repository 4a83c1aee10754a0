"""Flow control: ``.RateLimit()`` admits paths in order; bad limits are refused.

Concurrency limits are tested with calls on a task backend (test_long_calls), where a node runs long.
"""

from datetime import timedelta

import pytest

from automations import flow, testing
from automations.flow import this
from automations.flow.declaration import AutomationDeclarationError
from automations.models import Status
from tests.helpers import row

# Paths are admitted once a step commits: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


class Throttled(flow.Automation):
    call = flow.Execute(this.work).RateLimit(2, per=timedelta(minutes=1))
    end = flow.End()

    def work(self, task):
        self.data["worked"] = True


def test_a_declaration_with_a_bad_limit_is_refused_with_a_sentence():
    with pytest.raises(AutomationDeclarationError, match=r"\.Concurrency\(\) needs a whole number"):
        flow.Execute().Concurrency(0)
    with pytest.raises(AutomationDeclarationError, match=r"\.RateLimit\(\) needs per="):
        flow.Execute().RateLimit(3, per=60)


def test_a_rate_limit_lets_two_a_minute_through_in_the_order_they_came():
    with testing.frozen_clock() as clock:
        instances = [Throttled(n=n) for n in range(5)]
        assert [row(i).finished for i in instances] == [True, True, False, False, False]
        assert [row(i).status for i in instances[2:]] == [Status.WAITING_FOR_TIME] * 3
        clock.advance(seconds=59)
        assert [row(i).finished for i in instances] == [True, True, False, False, False]
        clock.advance(seconds=1)
        assert [row(i).finished for i in instances] == [True, True, True, True, False]
        clock.advance(minutes=1)
        assert all(row(i).finished for i in instances)
