"""The CMS plugins on real django CMS pages, viewed through the test client.

Skipped when django-cms is not installed (it needs Python >= 3.12 with Django 6, or Django 5.2).
"""

import re

import pytest

pytest.importorskip("cms")

from cms.api import add_plugin, create_page  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.cache import cache  # noqa: E402

from automations.models import AutomationModel, AutomationTaskModel  # noqa: E402
from tests.cms_site.automations import Failing, QuietWebinar, Webinar  # noqa: E402
from tests.settings_cms import CMS_CONTEXT_PROCESSORS, CMS_MIDDLEWARE  # noqa: E402

pytestmark = pytest.mark.django_db

WEBINAR = "tests.cms_site.automations.Webinar"
QUIET = "tests.cms_site.automations.QuietWebinar"


@pytest.fixture(autouse=True)
def cms_site(settings):
    """Serve django CMS pages with its middleware; start from an empty cache."""
    settings.ROOT_URLCONF = "tests.cms_site.urls"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, *CMS_MIDDLEWARE]
    settings.TEMPLATES = [
        {
            **engine,
            "OPTIONS": {
                **engine["OPTIONS"],
                "context_processors": [*engine["OPTIONS"]["context_processors"], *CMS_CONTEXT_PROCESSORS],
            },
        }
        for engine in settings.TEMPLATES
    ]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ordinary_user():
    return User.objects.create_user("olga", password="pw")


@pytest.fixture
def other_user():
    return User.objects.create_user("otto", password="pw")


@pytest.fixture
def staff_user():
    return User.objects.create_user("stan", password="pw", is_staff=True, is_superuser=True)


def page_with(plugin_type, slug="page", **data):
    """Create a CMS page whose ``content`` placeholder holds one ``plugin_type`` plugin."""
    page = create_page(slug.title(), "cms_site/page.html", "en", slug=slug)
    placeholder = page.get_placeholders("en").get(slot="content")
    add_plugin(placeholder, plugin_type, "en", **data)
    return page


def view(client, page, user=None, **params):
    """Return the HTML of ``page`` viewed by ``user`` (anonymous when None) with GET ``params``."""
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.get(page.get_absolute_url("en"), params)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def placeholder_content(html):
    """Return what the plugins rendered into the page's ``content`` placeholder."""
    start = html.index("<main>[") + len("<main>[")
    return html[start : html.index("]</main>", start)].strip()


def open_task(status, **assignment):
    """Create an open task (of a fresh Webinar row) assigned as ``assignment`` says."""
    model = AutomationModel.objects.create(automation_class=WEBINAR, data={"participants": []})
    return AutomationTaskModel.objects.create(automation=model, status=status, **assignment)


def shown(html):
    """Return the names of the tasks the task list plugin rendered."""
    return set(re.findall(r"task:\d+\.(\w+)", placeholder_content(html)))


# -- AutomationTaskList ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def open_tasks_helper(monkeypatch):
    """Stand in for the open-tasks helper: a user may process the open tasks assigned to them.

    Which tasks a user may process is the helper's business and tested with it; here it matters
    that the plugin shows what the helper returns for the request's user. Returns the users asked for.
    """
    from automations.tasklist import queries

    asked = []

    def open_tasks_for(user):
        asked.append(user.username)
        return AutomationTaskModel.objects.filter(finished=None, interaction_user=user).order_by("pk")

    monkeypatch.setattr(queries, "open_tasks_for", open_tasks_for)
    return asked


def test_task_list_shows_nothing_to_anonymous_users(client, ordinary_user, open_tasks_helper):
    open_task("olgas", interaction_user=ordinary_user)
    open_task("unassigned")
    page = page_with("AutomationTaskList", template="cms_site/task_list.html")

    assert placeholder_content(view(client, page)) == ""
    assert open_tasks_helper == []


def test_task_list_shows_an_ordinary_user_their_open_tasks(
    client, ordinary_user, other_user, open_tasks_helper
):
    open_task("olgas", interaction_user=ordinary_user)
    open_task("ottos", interaction_user=other_user)
    page = page_with("AutomationTaskList", template="cms_site/task_list.html")

    html = view(client, page, ordinary_user)

    assert shown(html) == {"olgas"}
    assert open_tasks_helper == ["olga"]


def test_task_list_shows_a_staff_user_their_open_tasks_with_the_toolbar(client, staff_user, ordinary_user):
    open_task("stans", interaction_user=staff_user)
    open_task("olgas", interaction_user=ordinary_user)
    page = page_with("AutomationTaskList", template="cms_site/task_list.html")

    html = view(client, page, staff_user)

    assert "cms-toolbar" in html
    assert shown(html) == {"stans"}


def test_task_list_is_rendered_per_user_and_per_view_not_cached(client, settings, ordinary_user, other_user):
    settings.CMS_PAGE_CACHE = settings.CMS_PLACEHOLDER_CACHE = settings.CMS_PLUGIN_CACHE = True
    open_task("olgas", interaction_user=ordinary_user)
    page = page_with("AutomationTaskList", template="cms_site/task_list.html")

    assert shown(view(client, page, ordinary_user)) == {"olgas"}
    assert shown(view(client, page, other_user)) == set()
    assert placeholder_content(view(client, page)) == ""
    open_task("more", interaction_user=ordinary_user)
    assert shown(view(client, page, ordinary_user)) == {"olgas", "more"}


def test_task_list_uses_the_template_the_author_chose(client, ordinary_user):
    open_task("mine", interaction_user=ordinary_user)
    page = page_with("AutomationTaskList", template="cms_site/task_table.html")

    assert placeholder_content(view(client, page, ordinary_user)).startswith(
        '<table class="tasks"><tr><td>task:'
    )


def test_task_list_falls_back_to_the_first_template_when_the_setting_dropped_the_choice(
    client, settings, ordinary_user
):
    settings.ATM_CMS_TASK_LIST_TEMPLATES = [("cms_site/task_table.html", "Table")]
    open_task("mine", interaction_user=ordinary_user)
    page = page_with("AutomationTaskList", template="cms_site/task_list.html")

    assert placeholder_content(view(client, page, ordinary_user)).startswith('<table class="tasks">')


def test_task_list_renders_the_default_template(client, settings, ordinary_user):
    del settings.ATM_CMS_TASK_LIST_TEMPLATES
    open_task("olgas", interaction_user=ordinary_user)
    page = page_with("AutomationTaskList", template="automations/includes/task_list.html")

    content = placeholder_content(view(client, page, ordinary_user))
    assert content.startswith('<div class="atm-task-list" data-atm-task-list')  # the default include
    assert 'data-atm-section="mine"' in content and "olgas" in content  # with the user's task


# -- AutomationStatus ------------------------------------------------------------------------


@pytest.fixture
def webinar():
    return Webinar(webinar=1)


@pytest.mark.parametrize("who", ["anonymous", "ordinary", "staff"])
def test_status_shows_the_instance_of_the_key_with_the_chosen_template(
    client, webinar, who, ordinary_user, staff_user
):
    user = {"anonymous": None, "ordinary": ordinary_user, "staff": staff_user}[who]
    webinar.data["participants"] = ["ann"]
    webinar.save()
    page = page_with("AutomationStatus", automation=WEBINAR, template="status_template")

    html = view(client, page, user, key=webinar.get_key())

    assert placeholder_content(html) == (
        f'<p class="status">status:{webinar.id}:{webinar.get_key()[:6]}:ann</p>'
    )


def test_status_offers_every_declared_template(client, webinar):
    page = page_with("AutomationStatus", automation=WEBINAR, template="issues_template")

    assert (
        placeholder_content(view(client, page, key=webinar.get_key()))
        == f'<p class="issues">issues:{webinar.id}</p>'
    )


@pytest.mark.parametrize("who", ["anonymous", "ordinary", "staff"])
def test_status_shows_nothing_and_leaks_nothing_for_a_wrong_or_missing_key(
    client, webinar, who, ordinary_user, staff_user
):
    user = {"anonymous": None, "ordinary": ordinary_user, "staff": staff_user}[who]
    quiet = QuietWebinar(webinar=2)
    page = page_with("AutomationStatus", automation=WEBINAR, template="status_template")
    without_key = view(client, page, user)

    for key in ["", "nonsense", webinar.get_key()[:-1], str(webinar.id), quiet.get_key()]:
        html = view(client, page, user, key=key)
        assert placeholder_content(html) == ""
        if who != "staff":  # the staff toolbar repeats the GET parameters in its links
            assert comparable(html, key) == comparable(without_key, "")


def test_status_is_rendered_for_each_key_not_cached(client, webinar):
    second = Webinar(webinar=2)
    page = page_with("AutomationStatus", automation=WEBINAR, template="issues_template")

    assert (
        placeholder_content(view(client, page, key=webinar.get_key()))
        == f'<p class="issues">issues:{webinar.id}</p>'
    )
    assert (
        placeholder_content(view(client, page, key=second.get_key()))
        == f'<p class="issues">issues:{second.id}</p>'
    )
    assert placeholder_content(view(client, page)) == ""


def test_status_shows_nothing_when_the_automation_dropped_the_template(client, webinar):
    page = page_with("AutomationStatus", automation=WEBINAR, template="gone_template")

    assert placeholder_content(view(client, page, key=webinar.get_key())) == ""


def test_status_shows_nothing_for_an_automation_that_is_no_longer_declared(client, webinar):
    page = page_with(
        "AutomationStatus", automation="tests.cms_site.automations.Gone", template="status_template"
    )

    assert placeholder_content(view(client, page, key=webinar.get_key())) == ""


def comparable(html, key):
    """Return ``html`` without the key and the CSRF tokens (masked anew for every response)."""
    without_key = html.replace(f"key={key}", "key=") if key else html
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "<csrf>", without_key)


# -- AutomationHook --------------------------------------------------------------------------


def hook_page(send_to="key", message="add_participant_to_webinar", automation=WEBINAR, token=""):
    return page_with("AutomationHook", automation=automation, message=message, send_to=send_to, token=token)


def refreshed(instance):
    return AutomationModel.objects.get(pk=instance.id)


@pytest.mark.parametrize("who", ["anonymous", "ordinary", "staff"])
def test_hook_sends_its_message_to_the_instance_of_the_key_and_renders_nothing(
    client, webinar, who, ordinary_user, staff_user
):
    user = {"anonymous": None, "ordinary": ordinary_user, "staff": staff_user}[who]
    page = hook_page(token="web")

    html = view(client, page, user, key=webinar.get_key(), participant="ann")

    assert placeholder_content(html) == ""
    model = refreshed(webinar)
    assert model.data["participants"] == ["ann"]
    assert model.data["tokens"] == ["web"]
    assert model.data["request_path"] == page.get_absolute_url("en")


def test_hook_message_lets_the_automation_continue_and_is_sent_on_every_view(client, webinar):
    page = hook_page()

    view(client, page, key=webinar.get_key(), participant="ann")
    assert not refreshed(webinar).finished
    view(client, page, key=webinar.get_key(), participant="bob")

    model = refreshed(webinar)
    assert model.data["participants"] == ["ann", "bob"]
    assert model.data["closed"] is True
    assert model.finished


def test_hook_sends_nothing_when_the_request_lacks_required_parameters(client, webinar):
    page = hook_page()

    html = view(client, page, key=webinar.get_key(), someone="ann")

    assert placeholder_content(html) == ""
    assert refreshed(webinar).data["participants"] == []


def test_hook_sends_nothing_for_a_wrong_key_an_id_or_an_instance_of_another_automation(client, webinar):
    quiet = QuietWebinar(webinar=2)
    page = hook_page()

    for key in ["", "nonsense", str(webinar.id), quiet.get_key()]:
        assert placeholder_content(view(client, page, key=key, participant="eve")) == ""

    assert refreshed(webinar).data["participants"] == []
    assert refreshed(quiet).data["participants"] == []


def test_hook_can_broadcast_to_every_running_instance(client, webinar):
    second = Webinar(webinar=2)
    quiet = QuietWebinar(webinar=3)
    page = hook_page(send_to="broadcast")

    view(client, page, participant="ann")

    assert refreshed(webinar).data["participants"] == ["ann"]
    assert refreshed(second).data["participants"] == ["ann"]
    assert refreshed(quiet).data["participants"] == []


def test_hook_can_create_an_instance_from_the_get_parameters(client):
    page = hook_page(send_to="create")

    view(client, page, webinar="7", participant="ann")
    view(client, page, webinar="7", participant="bob")

    created = AutomationModel.objects.get(automation_class=WEBINAR)
    assert created.data["webinar"] == "7"
    assert created.data["participants"] == ["ann", "bob"]
    assert created.finished


def test_a_failing_receiver_does_not_break_the_page(client, caplog):
    Failing()
    page = hook_page(send_to="broadcast", message="explode", automation="tests.cms_site.automations.Failing")

    html = view(client, page)

    assert placeholder_content(html) == ""
    failures = [record for record in caplog.records if record.levelname == "ERROR" and record.exc_info]
    assert [str(record.exc_info[1]) for record in failures] == ["receiver failed"]


def test_hook_sends_nothing_while_an_author_edits_or_previews_the_page(client, webinar, staff_user):
    from cms.toolbar.utils import get_object_edit_url, get_object_preview_url

    page = hook_page()
    content = page.get_content_obj("en")
    client.force_login(staff_user)

    for url in [get_object_edit_url(content), get_object_preview_url(content)]:
        response = client.get(url, {"key": webinar.get_key(), "participant": "ann"})
        assert response.status_code == 200

    assert refreshed(webinar).data["participants"] == []


@pytest.fixture
def published(monkeypatch, settings):
    """Run with a scheduler worker: capture the events given to ``automations.events.publish``.

    Events are published when the transaction commits: wrap page views in
    ``django_capture_on_commit_callbacks(execute=True)``.
    """
    from automations import events as module

    events = []
    monkeypatch.setattr(module, "publish", events.append)
    settings.ATM_WORKER = True
    return events


def test_hook_publishes_a_message_event_when_a_worker_runs(
    client, webinar, published, ordinary_user, django_capture_on_commit_callbacks
):
    page = hook_page(token="web")

    with django_capture_on_commit_callbacks(execute=True):
        view(client, page, ordinary_user, key=webinar.get_key(), participant="ann")
        view(client, page, ordinary_user, key="wrong", participant="ann")
        view(client, page, ordinary_user, key=webinar.get_key())

    assert published == [
        {
            "type": "automation.message",
            "automation": webinar.id,
            "message": "add_participant_to_webinar",
            "token": "web",
            "data": None,
            "request": {
                "GET": {"key": [webinar.get_key()], "participant": ["ann"]},
                "path": page.get_absolute_url("en"),
                "method": "GET",
                "user": ordinary_user.pk,
            },
        }
    ]
    assert refreshed(webinar).data["participants"] == []


@pytest.mark.parametrize("send_to", ["broadcast", "create"])
def test_hook_publishes_class_events_when_a_worker_runs(
    client, published, send_to, django_capture_on_commit_callbacks
):
    page = hook_page(send_to=send_to)

    with django_capture_on_commit_callbacks(execute=True):
        view(client, page, participant="ann")

    assert published == [
        {
            "type": f"automation.{send_to}",
            "automation_class": WEBINAR,
            "message": "add_participant_to_webinar",
            "token": None,
            "data": None,
            "request": {
                "GET": {"participant": ["ann"]},
                "path": page.get_absolute_url("en"),
                "method": "GET",
                "user": None,
            },
        }
    ]
    assert not AutomationModel.objects.exists()


# -- page authors ----------------------------------------------------------------------------


def add_plugin_url(page, plugin_type):
    from urllib.parse import urlencode

    from cms.utils.urlutils import admin_reverse

    placeholder = page.get_placeholders("en").get(slot="content")
    query = {
        "plugin_type": plugin_type,
        "placeholder_id": placeholder.pk,
        "plugin_language": "en",
        "cms_path": page.get_absolute_url("en"),
        "plugin_position": placeholder.get_next_plugin_position("en", insert_order="last"),
    }
    return admin_reverse("cms_placeholder_add_plugin") + "?" + urlencode(query)


@pytest.mark.parametrize(
    "plugin_type, offered, post, stored",
    [
        (
            "AutomationTaskList",
            "Plain list",
            {"template": "cms_site/task_table.html"},
            {"template": "cms_site/task_table.html"},
        ),
        (
            "AutomationStatus",
            "Current status",
            {"status_template": f"{WEBINAR}:issues_template"},
            {"automation": WEBINAR, "template": "issues_template"},
        ),
        (
            "AutomationHook",
            "Add participant to webinar",
            {"receiver": f"{WEBINAR}:add_participant_to_webinar", "token": "t", "send_to": "create"},
            {
                "automation": WEBINAR,
                "message": "add_participant_to_webinar",
                "token": "t",
                "send_to": "create",
            },
        ),
    ],
)
def test_a_page_author_adds_each_plugin_in_the_cms_admin(
    client, staff_user, plugin_type, offered, post, stored
):
    from cms.models import CMSPlugin

    page = create_page("Authoring", "cms_site/page.html", "en", slug="authoring")
    client.force_login(staff_user)
    url = add_plugin_url(page, plugin_type)

    form = client.get(url)
    assert form.status_code == 200
    assert offered in form.content.decode()

    response = client.post(url, post)
    assert response.status_code == 200
    assert "errorlist" not in response.content.decode()
    plugin = CMSPlugin.objects.get(plugin_type=plugin_type).get_bound_plugin()
    assert {name: getattr(plugin, name) for name in stored} == stored


def test_the_hook_form_does_not_offer_unpublished_receivers(client, staff_user):
    page = create_page("Authoring", "cms_site/page.html", "en", slug="authoring")
    client.force_login(staff_user)

    html = client.get(add_plugin_url(page, "AutomationHook")).content.decode()

    assert f"{WEBINAR}:add_participant_to_webinar" in html
    assert f"{QUIET}:add_participant_to_webinar" not in html
