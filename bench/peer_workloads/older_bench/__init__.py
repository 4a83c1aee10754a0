"""A Django app holding the automations of the older implementation's side of the comparison."""
