"""The CMS plugins' parts: choices offered to page authors, forms, checks, open tasks, events.

Skipped when django-cms is not installed.
"""

import pytest

pytest.importorskip("cms")

from django.contrib.auth.models import AnonymousUser, User  # noqa: E402
from django.core import checks  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from automations import flow, page_views  # noqa: E402
from automations.cms_automations import choices, cms_plugins, delivery  # noqa: E402
from automations.cms_automations.checks import check_task_list_templates  # noqa: E402
from automations.cms_automations.forms import (  # noqa: E402
    AutomationHookForm,
    AutomationStatusForm,
    AutomationTaskListForm,
)
from automations.cms_automations.models import (  # noqa: E402
    AutomationHookPluginModel,
    AutomationStatusPluginModel,
)
from automations.models import AutomationModel  # noqa: E402
from tests.cms_site.automations import Webinar  # noqa: E402

WEBINAR = "tests.cms_site.automations.Webinar"
QUIET = "tests.cms_site.automations.QuietWebinar"
FAILING = "tests.cms_site.automations.Failing"


# -- what page authors can choose ------------------------------------------------------------


def test_published_receivers_are_offered_with_readable_names():
    groups = dict(choices.receiver_choices())

    assert groups["Webinar registration"] == [
        (f"{WEBINAR}:add_participant_to_webinar", "Add participant to webinar"),
        (f"{WEBINAR}:cancel", "Cancel"),
    ]
    assert groups["Automation Failing"] == [(f"{FAILING}:explode", "Explode")]


def test_receivers_of_automations_without_publish_receivers_are_not_offered():
    offered = [value for _group, entries in choices.receiver_choices() for value, _label in entries]

    assert not [value for value in offered if value.startswith(QUIET + ":")]
    assert choices.published_receivers(flow.Automation) == []


def test_status_templates_come_from_meta_with_or_without_a_verbose_name():
    assert choices.status_templates(Webinar) == {
        "status_template": ("cms_site/webinar_status.html", "Current status"),
        "issues_template": ("cms_site/webinar_issues.html", "Issues"),
    }


def test_status_template_choices_are_grouped_by_automation():
    groups = dict(choices.status_template_choices())

    assert groups["Webinar registration"] == [
        (f"{WEBINAR}:status_template", "Current status"),
        (f"{WEBINAR}:issues_template", "Issues"),
    ]
    assert groups["Quiet webinar"] == [(f"{QUIET}:status_template", "Quiet status")]


def test_status_templates_ignore_malformed_entries_and_the_dashboard_template():
    class Odd(flow.Automation):
        class Meta:
            dashboard_template = "odd/dashboard.html"
            number_template = 3
            triple_template = ("a.html", "A", "extra")
            inherited = "not a template"

        end = flow.End()

    assert choices.status_templates(Odd) == {}


def test_automations_sharing_a_verbose_name_are_told_apart_by_their_paths():
    class Twin(flow.Automation):
        publish_receivers = True

        class Meta:
            verbose_name = "Webinar registration"

        end = flow.End()

        def receive_ping(self, token, data):
            pass

    labels = [label for label, _entries in choices.receiver_choices()]

    assert f"Webinar registration ({WEBINAR})" in labels
    assert f"Webinar registration ({Twin.get_automation_class_name()})" in labels


def test_stored_choices_split_into_path_and_name():
    assert choices.split_choice(f"{WEBINAR}:cancel") == (WEBINAR, "cancel")
    with pytest.raises(ValueError, match="is not of the form"):
        choices.split_choice("no-separator")


# -- plugin forms ----------------------------------------------------------------------------


def test_task_list_form_offers_the_templates_of_the_setting(settings):
    settings.ATM_CMS_TASK_LIST_TEMPLATES = [("a.html", "A"), ("b.html", "B")]

    form = AutomationTaskListForm(data={"template": "c.html"})

    assert form.fields["template"].choices == [("a.html", "A"), ("b.html", "B")]
    assert not form.is_valid()
    assert AutomationTaskListForm(data={"template": "b.html"}).is_valid()


def test_task_list_templates_default_to_the_task_list_include(settings):
    del settings.ATM_CMS_TASK_LIST_TEMPLATES

    form = AutomationTaskListForm()

    assert form.fields["template"].choices == [("automations/includes/task_list.html", "Task list")]


def test_status_form_stores_automation_and_template_name():
    form = AutomationStatusForm(data={"status_template": f"{WEBINAR}:issues_template"})

    assert form.is_valid(), form.errors
    assert (form.instance.automation, form.instance.template) == (WEBINAR, "issues_template")


def test_status_form_rejects_undeclared_templates_and_shows_the_stored_choice():
    assert not AutomationStatusForm(data={"status_template": f"{WEBINAR}:dashboard_template"}).is_valid()

    form = AutomationStatusForm(
        instance=AutomationStatusPluginModel(automation=WEBINAR, template="status_template")
    )

    assert form.fields["status_template"].initial == f"{WEBINAR}:status_template"


def test_hook_form_stores_automation_message_token_and_recipients():
    form = AutomationHookForm(
        data={"receiver": f"{WEBINAR}:add_participant_to_webinar", "token": "spring", "send_to": "broadcast"}
    )

    assert form.is_valid(), form.errors
    hook = form.instance
    assert (hook.automation, hook.message, hook.token, hook.send_to) == (
        WEBINAR,
        "add_participant_to_webinar",
        "spring",
        "broadcast",
    )


def test_hook_form_rejects_unpublished_receivers():
    form = AutomationHookForm(data={"receiver": f"{QUIET}:add_participant_to_webinar", "send_to": "key"})

    assert not form.is_valid()
    assert "receiver" in form.errors


def test_forms_say_when_there_is_nothing_to_choose(monkeypatch):
    monkeypatch.setattr(choices.registry, "all_automations", dict)

    assert AutomationHookForm().fields["receiver"].help_text == choices.NO_RECEIVERS
    assert AutomationStatusForm().fields["status_template"].help_text == choices.NO_STATUS_TEMPLATES


# -- plugins ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plugin", [cms_plugins.AutomationTaskList, cms_plugins.AutomationStatus, cms_plugins.AutomationHook]
)
def test_no_plugin_is_cached(plugin):
    assert plugin.cache is False


def test_hook_renders_the_empty_template():
    from django.template.loader import get_template

    assert cms_plugins.EMPTY_TEMPLATE == "automations/cms/empty_template.html"
    assert get_template(cms_plugins.EMPTY_TEMPLATE).render({}) == ""


# -- system checks ---------------------------------------------------------------------------


def test_valid_or_missing_task_list_setting_passes(settings):
    settings.ATM_CMS_TASK_LIST_TEMPLATES = [("a.html", "A")]
    assert check_task_list_templates() == []
    del settings.ATM_CMS_TASK_LIST_TEMPLATES
    assert check_task_list_templates() == []


def test_empty_task_list_setting_is_an_error(settings):
    settings.ATM_CMS_TASK_LIST_TEMPLATES = []

    assert check_task_list_templates() == [
        checks.Error(
            "ATM_CMS_TASK_LIST_TEMPLATES must be a non-empty list of (template path, verbose name) pairs, "
            "not [].",
            hint='For example ATM_CMS_TASK_LIST_TEMPLATES = [("automations/includes/task_list.html", '
            '_("Task list"))], or remove the setting to use that default.',
            id="cms_automations.E001",
        )
    ]


def test_task_list_setting_entries_must_be_pairs(settings):
    settings.ATM_CMS_TASK_LIST_TEMPLATES = [("a.html", "A"), "b.html"]

    assert check_task_list_templates() == [
        checks.Error(
            "ATM_CMS_TASK_LIST_TEMPLATES contains 'b.html', which is not a "
            "(template path, verbose name) pair.",
            hint='For example ATM_CMS_TASK_LIST_TEMPLATES = [("automations/includes/task_list.html", '
            '_("Task list"))].',
            id="cms_automations.E002",
        )
    ]


def test_the_check_is_registered(settings):
    settings.ATM_CMS_TASK_LIST_TEMPLATES = "a.html"

    assert "cms_automations.E001" in [error.id for error in checks.run_checks()]


# -- delivery --------------------------------------------------------------------------------


def test_request_payload_is_json_and_keeps_repeated_parameters(db):
    request = RequestFactory().get("/page/", {"tag": ["a", "b"], "key": "k"})
    request.user = User.objects.create_user("u")

    assert page_views.request_payload(request) == {
        "GET": {"tag": ["a", "b"], "key": ["k"]},
        "path": "/page/",
        "method": "GET",
        "user": request.user.pk,
    }


@pytest.mark.django_db
def test_a_hook_for_an_unknown_automation_or_message_sends_nothing(caplog):
    request = RequestFactory().get("/", {"participant": "ann"})
    request.user = AnonymousUser()

    assert delivery.send_page_view_message("nowhere.Gone", "x", None, "broadcast", request) is False
    assert delivery.send_page_view_message(WEBINAR, "unknown", None, "broadcast", request) is False
    assert delivery.send_page_view_message(WEBINAR, "cancel", None, "elsewhere", request) is False
    assert "not sent" in caplog.text


@pytest.mark.django_db
def test_instance_for_key_accepts_keys_of_the_class_and_its_subclasses_only():
    webinar = Webinar(webinar=1)
    model = AutomationModel.objects.get(pk=webinar.id)

    assert delivery.instance_for_key(Webinar, webinar.get_key()) == model
    assert delivery.instance_for_key(flow.Automation, webinar.get_key()) == model
    assert delivery.instance_for_key(Webinar, str(webinar.id)) is None
    assert delivery.instance_for_key(Webinar, None) is None
    AutomationModel.objects.filter(pk=webinar.id).update(automation_class="gone.Automation")
    assert delivery.instance_for_key(Webinar, webinar.get_key()) is None


def test_plugin_models_describe_themselves():
    hook = AutomationHookPluginModel(automation=WEBINAR, message="cancel")
    status = AutomationStatusPluginModel(automation=WEBINAR, template="status_template")

    assert str(hook) == f"{WEBINAR}: cancel"
    assert str(status) == f"{WEBINAR}.Meta.status_template"


# -- German ----------------------------------------------------------------------------------


def test_plugins_and_their_fields_speak_german():
    from django.utils import translation

    with translation.override("de"):
        assert [str(plugin.name) for plugin in cms_plugins.ALL_PLUGINS] == [
            "Aufgabenliste",
            "Automationsstatus",
            "Automations-Hook",
        ]
        assert str(cms_plugins.AutomationHook.module) == "Automationen"
        assert str(AutomationHookPluginModel._meta.get_field("send_to").verbose_name) == "senden an"
        assert dict(AutomationHookPluginModel.TARGET_CHOICES)["broadcast"] == "Jede laufende Instanz"


def test_the_german_catalog_is_complete_and_compiled():
    import ast
    import gettext
    import re
    from pathlib import Path

    directory = Path(cms_plugins.__file__).parent / "locale" / "de" / "LC_MESSAGES"
    po = (directory / "django.po").read_text()
    entries = re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', po, flags=re.MULTILINE)
    with open(directory / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)

    in_code = {
        node.args[0].value
        for module in directory.parents[2].glob("*.py")
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_" and node.args
    }

    assert in_code - {msgid for msgid, _ in entries} == set()
    assert len(entries) >= 25
    assert [msgid for msgid, msgstr in entries if not msgstr] == []
    assert {msgid: compiled.gettext(msgid) for msgid, _ in entries} == dict(entries)


def test_the_plugin_migrations_match_the_models(db):
    import io

    from django.core.management import call_command

    call_command("makemigrations", "cms_automations", "--check", "--dry-run", stdout=io.StringIO())


def test_the_hook_plugin_and_the_template_tag_send_through_one_function():
    assert delivery.page_viewed is page_views.page_viewed
    assert delivery.instance_for_key is page_views.instance_for_key
