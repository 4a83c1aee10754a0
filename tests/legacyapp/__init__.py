"""The automations of a django-automations 0.9 site, declared for the upgrade tests."""
