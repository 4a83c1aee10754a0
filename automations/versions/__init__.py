"""Versions of automation classes: what each instance started under, and deploys that change a class.

The package spans layers, as :mod:`automations.events` does; its ``__init__`` imports nothing.
:mod:`.shape` describes a declaration (declaration layer); :mod:`.records` stores each shape once and
tells an instance its version, :mod:`.report` compares the running instances with the current
declarations, :mod:`.retry` makes held instances due again once their node is known, and
:mod:`.operations` moves instances from node to node in a Django migration (persistence layer).
See ``docs/versions.md``.
"""
