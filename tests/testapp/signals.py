from django.dispatch import Signal

#: Sent by tests; starts ``tests.testapp.automations.OrderFollowUp``.
order_placed = Signal()
