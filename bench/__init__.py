"""Benchmarks of Django Automations: ``make bench`` (or ``python bench/run.py --help``)."""
