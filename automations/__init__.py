"""Django Automations: business processes declared as Python classes of nodes.

Users write ``from automations import flow``; see :mod:`automations.flow`.
"""
