"""A django CMS site for the CMS plugin tests: page template, URLs and automations with receivers."""
