"""Carrying a database of django-automations 0.9.4.x over: the plan per instance, its conversion, the check.

``plan`` decides, from the 0.9 rows alone plus the declared classes, where each instance goes;
``convert`` applies it inside migration ``0008_upgrade_rows``; ``legacy`` reads a database that
has not been migrated yet, for ``manage.py automation_upgrade_check``.
"""
