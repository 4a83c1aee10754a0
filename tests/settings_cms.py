"""django CMS additions to the test settings, applied by ``tests/settings.py`` if django-cms is installed.

Only apps and settings are added here; the CMS middleware and URLs are switched on by the CMS tests
themselves (``tests/test_cms_pages.py``), so the rest of the suite runs as without django-cms.
"""

import importlib.util

CMS_APPS = [
    "django.contrib.sites",
    "treebeard",
    "cms",
    "menus",
    "sekizai",
    "automations.cms_automations",
    "tests.cms_site",
]

CMS_MIDDLEWARE = [
    "cms.middleware.user.CurrentUserMiddleware",
    "cms.middleware.page.CurrentPageMiddleware",
    "cms.middleware.toolbar.ToolbarMiddleware",
    "cms.middleware.language.LanguageCookieMiddleware",
]

CMS_CONTEXT_PROCESSORS = ["cms.context_processors.cms_settings", "sekizai.context_processors.sekizai"]


def add_cms(namespace: dict) -> None:
    """Add django CMS' apps and settings to the settings namespace ``namespace`` if it is installed."""
    if importlib.util.find_spec("cms") is None:
        return
    namespace["INSTALLED_APPS"] = [*namespace["INSTALLED_APPS"], *CMS_APPS]
    namespace["SITE_ID"] = 1
    namespace["CMS_TEMPLATES"] = [("cms_site/page.html", "Page")]
    # A warning about django CMS' own models (its managers and treebeard 6), not about ours.
    namespace["SILENCED_SYSTEM_CHECKS"] = [*namespace.get("SILENCED_SYSTEM_CHECKS", []), "treebeard.E001"]
    namespace["ATM_CMS_TASK_LIST_TEMPLATES"] = [
        ("cms_site/task_list.html", "Plain list"),
        ("cms_site/task_table.html", "Table"),
    ]
