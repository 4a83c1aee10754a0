"""A person's task list: the open form tasks they may process, split, sorted and paged, kept live.

The modules are in two layers (docs/architecture.md): :mod:`~automations.tasklist.queries`, which
open tasks a user may process, is persistence; :mod:`~automations.tasklist.inbox` (the sections,
sorting and paging of the page) and :mod:`~automations.tasklist.live` (telling open task-list
sockets that tasks changed) are web. This module imports none of them, so that loading the queries
does not load the web.
"""
