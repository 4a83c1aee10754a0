"""The test kit for Django's ``TestCase``: a frozen clock and the helpers as assertions."""

from __future__ import annotations

import unittest
from typing import TYPE_CHECKING, Any

from automations.models import AutomationTaskModel

from . import acting, looking
from .clock import START, frozen_clock
from .looking import InstanceRef

if TYPE_CHECKING:  # mixed into a unittest.TestCase: checked as one
    _TestCase = unittest.TestCase
else:
    _TestCase = object


class AutomationTestMixin(_TestCase):
    """Freeze the time of Django Automations for each test as ``self.clock``.

    Mix it into a ``django.test.TestCase`` (before it)::

        class OrderTests(AutomationTestMixin, TestCase):
            def test_review_request(self):
                order = OrderFulfilment(...)
                self.clock.advance(days=3)
                self.assertAt(order, "end")

    ``clock_start`` is where the clock starts (default 2030-01-07 09:00 UTC).
    """

    clock_start = START

    def setUp(self) -> None:
        super().setUp()
        self.clock = frozen_clock(self.clock_start).__enter__()
        self.addCleanup(self.clock.__exit__, None, None, None)

    def assertAt(self, instance: InstanceRef, node_name: str) -> None:  # noqa: N802
        """Fail unless ``instance`` waits at ``node_name``, saying where it really is."""
        looking.assert_at(instance, node_name)

    def submit(
        self, task_or_instance: AutomationTaskModel | InstanceRef, data: dict[str, Any], *, user: Any
    ) -> AutomationTaskModel:
        """Submit ``data`` to the open form task as ``user``; see :func:`automations.testing.submit`."""
        return acting.submit(task_or_instance, data, user=user)
