"""Broken declarations fail at class creation and in ``manage.py check`` with stable ids."""

from datetime import UTC, datetime, timedelta

import pytest
from django import forms
from django.core import checks
from django.core.management import call_command

from automations import flow, registry
from automations import settings as atm_settings
from automations.checks import (
    NON_NEGATIVE_NUMBER_SETTINGS,
    POSITIVE_COUNT_SETTINGS,
    POSITIVE_NUMBER_SETTINGS,
    check_automations,
    check_limit_settings,
    check_task_backend,
)
from automations.flow import AutomationDeclarationError, this


def declare(name="Broken", **nodes):
    """Declare an automation called ``name`` with ``nodes`` (and a method ``work``)."""
    return type(name, (flow.Automation,), {"__module__": __name__, "work": lambda self, task: None, **nodes})


@pytest.mark.parametrize(
    "nodes, message",
    [
        (
            {"start": flow.Execute(this.work).Next("nowhere")},
            "Broken.start: .Next() refers to unknown node 'nowhere'.",
        ),
        ({"start": flow.Execute(this.work).Next(this.nowhere)}, ".Next() refers to unknown node 'nowhere'."),
        (
            {"start": flow.Execute(this.work).Next("self.nowhere")},
            ".Next() refers to unknown node 'nowhere'.",
        ),
        (
            {"start": flow.Execute(this.work).OnError(this.nowhere)},
            "Broken.start: .OnError() refers to unknown node",
        ),
        (
            {"again": flow.Repeat(this.nowhere)},
            "Broken.again: Repeat(start) refers to unknown node 'nowhere'.",
        ),
        (
            {"start": flow.If(True).Then(this.nowhere)},
            "Broken.start: .Then() refers to unknown node or method 'nowhere'.",
        ),
        (
            {"start": flow.If(True).Then(this.work).Else("nowhere")},
            ".Else() refers to unknown node or method",
        ),
        (
            {"start": flow.Execute(this.nowhere)},
            "Broken.start: Execute() refers to unknown node or method 'nowhere'.",
        ),
        ({"fork": flow.Split().Next(this.nowhere)}, "Broken.fork: .Next() refers to unknown node 'nowhere'."),
    ],
)
def test_unknown_references_are_e001(nodes, message):
    with pytest.raises(AutomationDeclarationError) as raised:
        declare(**nodes)
    assert "automations.E001" in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "name", ["run", "data", "id", "save", "finished", "unique", "on", "_private", "Meta"]
)
def test_reserved_and_private_node_names_are_e002(name):
    with pytest.raises(
        AutomationDeclarationError, match=f"automations.E002: Broken.{name}: node name '{name}'"
    ):
        declare(**{name: flow.End()})


def test_if_without_then_is_e003():
    with pytest.raises(
        AutomationDeclarationError, match=r"automations.E003: Broken.check: If\(\) has no .Then\(\)."
    ):
        declare(check=flow.If(True).Else("end"), end=flow.End())


def test_a_split_whose_paths_never_meet_is_e004():
    with pytest.raises(
        AutomationDeclarationError, match="automations.E004: Broken.fork: the paths of this Split"
    ):
        declare(
            fork=flow.Split().Next("a").Next("b"),
            a=flow.Execute(this.work).Next("meet"),
            b=flow.Execute(this.work).Next("end"),
            meet=flow.Join(),
            end=flow.End(),
        )
    with pytest.raises(
        AutomationDeclarationError, match=r"automations.E004: Broken.fork: Split\(\) has no paths."
    ):
        declare(fork=flow.Split(), end=flow.End())


def test_a_split_whose_paths_meet_through_a_nested_join_is_valid():
    valid = declare(
        "Valid",
        fork=flow.Split().Next("a").Next("b"),
        a=flow.Split().Next("a1").Next("a2"),
        a1=flow.Execute(this.work).Next("inner"),
        a2=flow.Execute(this.work).Next("inner"),
        inner=flow.Join().Next("outer"),
        b=flow.Execute(this.work).Next("outer"),
        outer=flow.Join(),
    )
    assert (valid.fork.matching_join, valid.a.matching_join) == ("outer", "inner")


def test_a_deadline_on_a_join_is_e006():
    with pytest.raises(AutomationDeclarationError) as raised:
        declare(
            fork=flow.Split().Next("a").Next("b"),
            a=flow.Execute(this.work).Next("meet"),
            b=flow.Execute(this.work).Next("meet"),
            meet=flow.Join().AsSoonAs(True).Deadline(days=2, then="end"),
            end=flow.End(),
        )
    assert str(raised.value) == (
        "automations.E006: Broken.meet: a Join() takes no .Deadline(): it waits for the paths of its Split, "
        "and a deadline would not end that wait. HINT: Put the deadline on the nodes the paths wait at "
        "(a Form, an AsSoonAs(), a SubAutomation), e.g. .Deadline(days=2, then=this.remind)."
    )


class NoteForm(forms.Form):
    note = forms.CharField(required=False)


class Waiting(flow.Execute):
    def enter(self, visit):  # a node of the project's own that may wait for anything
        return super().enter(visit)


@pytest.mark.parametrize(
    "node, kind",
    [
        (flow.Split().Next("end").Deadline(hours=1), "Split"),
        (flow.ForEach("items").Do("end").Deadline(hours=1), "ForEach"),
        (flow.If(True).Then("end").Deadline(hours=1), "If"),
        (flow.End().Deadline(hours=1), "End"),
        (flow.Execute(this.work).Deadline(minutes=5, then="end"), "Execute"),
        (flow.Execute(this.work).SkipIf(False).Deadline(minutes=5), "Execute"),
        (flow.SendMessage(1, "note").Deadline(minutes=5), "SendMessage"),
    ],
)
def test_a_deadline_on_a_node_that_never_waits_is_e006(node, kind):
    with pytest.raises(AutomationDeclarationError) as raised:
        declare(start=node, end=flow.End())
    assert str(raised.value).startswith(
        f"automations.E006: Broken.start: .Deadline() has no effect on this {kind}(): the node never waits."
    )


@pytest.mark.parametrize(
    "node",
    [
        flow.Form(NoteForm).Deadline(days=2),
        flow.SubAutomation("tests.testapp.automations.Inbox").Deadline(days=2),
        flow.Execute(this.work).Retry(attempts=3, backoff=60).Deadline(hours=1),
        flow.SendMessage(1, "note").Retry(attempts=3, backoff=60).Deadline(hours=1),
        flow.Execute(this.work, threaded=True).Deadline(hours=1),
        flow.Execute(this.work).Concurrency(2).Deadline(hours=1),
        flow.Execute(this.work).AsSoonAs(this.work).Deadline(hours=1),
        flow.If(True).Then("end").AfterWaitingFor(timedelta(hours=2)).Deadline(hours=1),
        flow.End().AfterWaitingUntil(datetime(2030, 1, 1, tzinfo=UTC)).Deadline(hours=1),
        flow.Repeat().EveryDay().At(9, 0).Deadline(weeks=1),
        Waiting(this.work).Deadline(hours=1),
    ],
)
def test_a_deadline_on_a_node_that_may_wait_is_valid(node):
    declare("Valid", start=node, end=flow.End())


def test_check_automations_reports_a_deadline_that_never_passes(registered):
    class Pointless(flow.Automation):
        class Meta:
            abstract = True  # not validated at class creation, registered by hand below

        check = flow.If(True).Then("end").Deadline(days=1)
        end = flow.End()

    registered(Pointless)
    assert [error for error in check_automations() if error.obj is Pointless] == [
        checks.Error(
            "Pointless.check: .Deadline() has no effect on this If(): the node never waits.",
            hint="Put the deadline on a node that waits (a Form, a SubAutomation, an Execute with .Retry(), "
            "a node with AsSoonAs(), AfterWaitingFor() or AfterWaitingUntil()), or remove it.",
            obj=Pointless,
            id="automations.E006",
        )
    ]


def test_all_problems_are_reported_together_with_hints():
    with pytest.raises(AutomationDeclarationError) as raised:
        declare(run=flow.Execute(this.work).Next("x"), check=flow.If(False))
    text = str(raised.value)
    assert text.count("automations.E00") == 3
    assert "HINT: Declare a node named 'x' in Broken or fix the reference." in text
    assert "HINT: Rename the node" in text
    assert issubclass(AutomationDeclarationError, TypeError)


def test_broken_classes_are_not_registered():
    with pytest.raises(AutomationDeclarationError):
        declare(start=flow.Execute(this.work).Next("nowhere"))
    assert f"{__name__}.Broken" not in registry.all_automations()


@pytest.fixture
def registered():
    """Register classes for the check only, and forget them afterwards."""
    added = []

    def register(cls):
        registry.register(cls)
        added.append(registry.class_path(cls))
        return cls

    yield register
    for path in added:
        registry.unregister(path)


def test_check_automations_reports_errors_as_check_messages(registered):
    class Unchecked(flow.Automation):
        class Meta:
            abstract = True  # not validated at class creation, registered by hand below

        _hidden = flow.Execute(this.work).Next("nowhere")
        check = flow.If(True)

        def work(self, task):
            return None

    registered(Unchecked)
    assert [error for error in check_automations() if error.obj is Unchecked] == [
        checks.Error(
            "Unchecked._hidden: node name '_hidden' is reserved.",
            hint="Rename the node; names starting with '_' and the attributes of flow.Automation are "
            "reserved.",
            obj=Unchecked,
            id="automations.E002",
        ),
        checks.Error(
            "Unchecked._hidden: .Next() refers to unknown node 'nowhere'.",
            hint="Declare a node named 'nowhere' in Unchecked or fix the reference.",
            obj=Unchecked,
            id="automations.E001",
        ),
        checks.Error(
            "Unchecked.check: If() has no .Then().",
            hint="Add .Then(node or callable).",
            obj=Unchecked,
            id="automations.E003",
        ),
    ]


def test_check_automations_reports_message_targets_that_are_not_registered():
    class Messenger(flow.Automation):
        to_inbox = flow.SendMessage("tests.testapp.automations.Inbox", "note")
        to_nowhere = flow.SendMessage("shop.automations.Gone", "note")
        to_self = flow.SendMessage("self.partner", "note")

    try:
        assert [error for error in check_automations() if error.obj is Messenger] == [
            checks.Error(
                "Messenger.to_nowhere: SendMessage() targets 'shop.automations.Gone', which is not a "
                "registered automation.",
                hint="Fix the dotted path, or make sure the target's module is an 'automations' module of an "
                "installed app.",
                obj=Messenger,
                id="automations.E005",
            )
        ]
    finally:
        registry.unregister(registry.class_path(Messenger))


def test_check_automations_warns_of_messages_the_target_class_has_no_receiver_for():
    class Listener(flow.Automation):
        end = flow.End()

        def receive_ping(self, token, data):
            pass

    class Messenger(flow.Automation):
        ping = flow.SendMessage(Listener, "ping")
        pong = flow.SendMessage(Listener, "pong")
        by_path = flow.SendMessage("tests.testapp.automations.Inbox", "nothing")
        to_an_id = flow.SendMessage(1, "anything")  # the instance's class is known only when it runs
        chosen = flow.SendMessage(lambda task: Listener, "anything")

    try:
        assert [error for error in check_automations() if error.obj is Messenger] == [
            checks.Warning(
                "Messenger.pong: SendMessage() sends 'pong' to Listener, which has no receiver for it: an "
                "instance stops with an error when it gets there.",
                hint="Define 'receive_pong(self, token, data)' on Listener, or fix the message. "
                "(django-automations 0.9 went on past such a message.)",
                obj=Messenger,
                id="automations.W005",
            ),
            checks.Warning(
                "Messenger.by_path: SendMessage() sends 'nothing' to Inbox, which has no receiver for it: "
                "an instance stops with an error when it gets there.",
                hint="Define 'receive_nothing(self, token, data)' on Inbox, or fix the message. "
                "(django-automations 0.9 went on past such a message.)",
                obj=Messenger,
                id="automations.W005",
            ),
        ]
    finally:
        registry.unregister(registry.class_path(Messenger))
        registry.unregister(registry.class_path(Listener))


@pytest.mark.django_db  # Django 6 may run database checks too
def test_the_declared_automations_pass_manage_py_check(capsys):
    call_command("check")
    assert "System check identified no issues" in capsys.readouterr().out


def test_a_worker_the_in_memory_layer_cannot_reach_is_w020(settings):
    from automations.checks import check_worker_reachable

    assert check_worker_reachable() == []  # no worker configured
    settings.ATM_WORKER = True
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    [warning] = check_worker_reachable()
    assert warning.id == "automations.W020" and "in-memory channel layer" in warning.msg
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}
    assert check_worker_reachable() == []


@pytest.mark.parametrize("value", [0, -1, "256k", None, True, float("nan")])
def test_a_limit_setting_that_is_not_a_positive_number_is_an_error(settings, value):
    settings.ATM_MAX_EVENT_SIZE = value
    assert check_limit_settings() == [
        checks.Error(
            f"ATM_MAX_EVENT_SIZE must be a positive whole number, not {value!r}.",
            hint="Set ATM_MAX_EVENT_SIZE to a positive whole number, or remove it for its default (262144).",
            id="automations.E021",
        )
    ]
    settings.ATM_MAX_EVENT_SIZE = 1024
    assert check_limit_settings() == []


def assert_refused_then_accepted(settings, name, value, kind, accepted):
    """Set ``name`` to ``value``: E021 says it must be a ``kind``; then to ``accepted``: no error."""
    setattr(settings, name, value)
    assert check_limit_settings() == [
        checks.Error(
            f"{name} must be a {kind}, not {value!r}.",
            hint=f"Set {name} to a {kind}, or remove it for its default ({atm_settings.DEFAULTS[name]!r}).",
            id="automations.E021",
        )
    ]
    setattr(settings, name, accepted)
    assert check_limit_settings() == []


@pytest.mark.parametrize("name", POSITIVE_NUMBER_SETTINGS)
def test_every_seconds_setting_must_be_a_positive_number(settings, name):
    assert_refused_then_accepted(settings, name, 0, "positive number", accepted=0.5)


@pytest.mark.parametrize("name", NON_NEGATIVE_NUMBER_SETTINGS)
@pytest.mark.parametrize("value", [-0.01, "0.05", None])
def test_a_seconds_setting_that_may_be_zero_must_not_be_negative(settings, name, value):
    assert_refused_then_accepted(settings, name, value, "non-negative number", accepted=0)


@pytest.mark.parametrize("name", POSITIVE_COUNT_SETTINGS)
@pytest.mark.parametrize("value", [0, 2.5, "20"])
def test_every_count_setting_must_be_a_positive_whole_number(settings, name, value):
    assert_refused_then_accepted(settings, name, value, "positive whole number", accepted=7)


def test_every_number_among_the_settings_is_checked():
    numbers = {name for name, default in atm_settings.DEFAULTS.items()
               if isinstance(default, int | float) and not isinstance(default, bool)}  # fmt: skip
    assert numbers == set(POSITIVE_NUMBER_SETTINGS) | set(POSITIVE_COUNT_SETTINGS) | set(
        NON_NEGATIVE_NUMBER_SETTINGS
    )
    assert all(isinstance(atm_settings.DEFAULTS[name], int) for name in POSITIVE_COUNT_SETTINGS)


# -- code written for the older package -----------------------------------------------------------


def test_a_split_whose_paths_each_end_in_an_endless_repeat_is_a_warning_not_an_error():
    class Recurring(flow.Automation):
        fork = flow.Split().Next(this.hourly).Next(this.daily)
        hourly = flow.Execute(this.count, False, "hourly")
        hourly_again = flow.Repeat(this.hourly).EveryHour()
        daily = flow.Execute(this.count, False, "daily")
        daily_again = flow.Repeat(this.daily).EveryDay()

        def count(self, task, name):
            self.data[name] = self.data.get(name, 0) + 1

    try:
        assert [problem for problem in check_automations() if problem.obj is Recurring] == [
            checks.Warning(
                "Recurring.fork: the paths of this Split() never reach a Join(): each of them ends in a "
                "Repeat(), so they run side by side and are never waited for.",
                hint="Fine for paths meant to recur on their own; to go on once every path is done, let "
                "them continue to one Join(). Silence with SILENCED_SYSTEM_CHECKS = ['automations.W004'].",
                obj=Recurring,
                id="automations.W004",
            )
        ]
    finally:
        registry.unregister(registry.class_path(Recurring))


@pytest.mark.django_db
def test_the_paths_of_a_split_that_end_in_repeats_run_on_their_own(clock):
    class Recurring(flow.Automation):
        fork = flow.Split().Next(this.hourly).Next(this.daily)
        hourly = flow.Execute(this.count, False, "hourly")
        hourly_again = flow.Repeat(this.hourly).EveryHour()
        daily = flow.Execute(this.count, False, "daily")
        daily_again = flow.Repeat(this.daily).EveryDay()

        def count(self, task, name):
            self.data[name] = self.data.get(name, 0) + 1

    instance = Recurring()
    assert instance.data == {"hourly": 1, "daily": 1}
    clock.advance(hours=24)
    assert Recurring(automation_id=instance.id).data == {"hourly": 25, "daily": 2}


def test_a_split_where_only_some_paths_repeat_is_still_e004():
    with pytest.raises(AutomationDeclarationError, match="automations.E004: Broken.fork"):
        declare(
            fork=flow.Split().Next("a").Next("b"),
            a=flow.Execute(this.work),
            again=flow.Repeat(this.a).EveryHour(),
            b=flow.Execute(this.work).Next("end"),
            end=flow.End(),
        )


@pytest.mark.django_db
def test_then_without_an_argument_continues_with_the_next_node():
    class Gate(flow.Automation):
        check = flow.If(this.is_open).Then().Else(this.closed)
        passed = flow.Execute(this.note, False, "passed").Next(this.end)
        closed = flow.Execute(this.note, False, "closed")
        end = flow.End()

        def is_open(self, task):
            return self.data["open"]

        def note(self, task, what):
            self.data["went"] = what

    assert Gate(open=True).data["went"] == "passed"
    assert Gate(open=False).data["went"] == "closed"
    assert [p for p in check_automations() if p.obj is Gate] == []


# -- the start options of Meta ----------------------------------------------------------------------


class NoteForm(forms.Form):
    note = forms.CharField()


def declare_startable(name="Broken", **meta):
    """Declare an automation called ``name`` whose ``Meta`` holds ``meta``."""
    return type(
        name, (flow.Automation,), {"__module__": __name__, "Meta": type("Meta", (), meta), "end": flow.End()}
    )


@pytest.mark.parametrize(
    "meta, problem",
    [
        ({"start_form": NoteForm()}, "automations.E030: Broken.Meta.start_form must be a Django form class"),
        (
            {"start_form": dict},
            "automations.E030: Broken.Meta.start_form must be a Django form class, not <class",
        ),
        (
            {"start_form": NoteForm, "start_permissions": "shop.add_order"},
            "automations.E031: Broken.Meta.start_permissions must be a list of 'app_label.codename' strings, "
            "not 'shop.add_order'.",
        ),
        ({"start_form": NoteForm, "start_permissions": ["add_order"]}, "automations.E031"),
        ({"start_form": NoteForm, "start_permissions": ["shop."]}, "automations.E031"),
        (
            {"start_form": NoteForm, "start_groups": "Employees"},
            "automations.E032: Broken.Meta.start_groups must be a list of group names, not 'Employees'.",
        ),
        ({"start_form": NoteForm, "start_groups": [""]}, "automations.E032"),
        (
            {"start_form": NoteForm, "start_groups": ["Staff"], "start_user_key": 3},
            "automations.E033: Broken.Meta.start_user_key must be a data key (a non-empty string), not 3.",
        ),
        (
            {"start_groups": ["Staff"], "start_user_key": "requester"},
            "automations.E034: Broken.Meta sets start_groups, start_user_key but no start_form, so nobody "
            "can start it from the menu.",
        ),
    ],
)
def test_wrong_start_options_fail_at_class_creation(meta, problem):
    with pytest.raises(AutomationDeclarationError) as raised:
        declare_startable(**meta)
    assert problem in str(raised.value)


END = flow.End()


def declare_versioned(meta, **nodes):
    """Declare ``Broken`` with ``meta`` as its ``Meta`` and ``nodes`` (default: ``start`` and ``end``)."""
    nodes = nodes or {"start": flow.Execute(this.work), "end": flow.End()}
    return type(
        "Broken",
        (flow.Automation,),
        {"__module__": __name__, "Meta": type("Meta", (), meta), "work": lambda self, task: None, **nodes},
    )


@pytest.mark.parametrize(
    "meta, nodes, problem",
    [
        ({"version": 0}, {}, "automations.E041: Broken.Meta.version is 0, not a whole number from 1."),
        (
            {"renamed_nodes": {"start": "end"}},
            {},
            "automations.E042: Broken.Meta.renamed_nodes renames 'start'",
        ),
        (
            {"renamed_nodes": {"begin": "go"}},
            {},
            "automations.E043: Broken.Meta.renamed_nodes renames 'begin' to",
        ),
        (
            {"reviewed_changes": {"fork": "fine"}},
            {},
            "automations.E044: Broken.Meta.reviewed_changes names 'fork'",
        ),
        (
            {},
            {
                "start": flow.Execute(this.work).Next(this.old),
                "old": flow.Obsolete(this.end),
                "end": flow.End(),
            },
            "automations.E045: Broken.start: .Next() refers to the obsolete node 'old'.",
        ),
        (
            {},
            {"old": flow.Obsolete(this.end), "start": flow.Execute(this.work), "end": flow.End()},
            "automations.E046: Broken.old: the first node is obsolete",
        ),
    ],
)
def test_wrong_versioning_options_fail_with_ids_of_their_own(meta, nodes, problem):
    """The ids differ from the start options' E030-E034."""
    with pytest.raises(AutomationDeclarationError) as raised:
        declare_versioned(meta, **nodes)
    assert problem in str(raised.value)


def test_start_options_are_reported_by_the_checks_with_their_hints(registered):
    class Startable(flow.Automation):
        class Meta:
            abstract = True  # not validated at class creation, registered by hand below
            start_form = NoteForm()
            start_permissions = "shop.add_order"

        end = flow.End()

    class OpenToAll(flow.Automation):
        class Meta:
            start_form = NoteForm

        end = flow.End()

    registered(Startable)
    registered(OpenToAll)
    problems = [error for error in check_automations() if error.obj in (Startable, OpenToAll)]
    assert problems == [
        checks.Warning(
            "OpenToAll.Meta.start_form has no start_permissions or start_groups, so any logged-in user "
            "may start it.",
            hint="Set Meta.start_permissions or Meta.start_groups, or add 'automations.W030' to "
            "SILENCED_SYSTEM_CHECKS if every logged-in user is meant to start it.",
            obj=OpenToAll,
            id="automations.W030",
        ),
        checks.Error(
            f"Startable.Meta.start_form must be a Django form class, not {Startable.Meta.start_form!r}.",
            hint="Set start_form to a subclass of django.forms.Form (the class, not an instance).",
            obj=Startable,
            id="automations.E030",
        ),
        checks.Error(
            "Startable.Meta.start_permissions must be a list of 'app_label.codename' strings, not "
            "'shop.add_order'.",
            hint="Write e.g. start_permissions = ['shop.add_order'] (a list, also for one permission).",
            obj=Startable,
            id="automations.E031",
        ),
    ]


def test_valid_start_options_pass_and_only_the_own_meta_counts():
    from automations.starting import start_declaration

    class Claim(flow.Automation):
        class Meta:
            start_form = NoteForm
            start_permissions = ("shop.add_order",)
            start_groups = ["Staff"]
            start_user_key = "requester"

        end = flow.End()

    class Subclaim(Claim):
        pass

    class Restarted(Claim):
        class Meta(Claim.Meta):
            pass

    try:
        assert [
            problem for problem in check_automations() if problem.obj in (Claim, Subclaim, Restarted)
        ] == []
        declaration = start_declaration(Claim)
        assert (declaration.form, declaration.permissions, declaration.groups, declaration.user_key) == (
            NoteForm,
            ("shop.add_order",),
            ("Staff",),
            "requester",
        )
        assert start_declaration(Subclaim) is None  # not in the menu: its own Meta says nothing
        assert start_declaration(Restarted) == declaration  # a Meta that inherits the base's
    finally:
        for cls in (Claim, Subclaim, Restarted):
            registry._automations.pop(registry.class_path(cls), None)


def test_a_task_backend_for_threaded_calls_must_be_configured_in_tasks(settings):
    assert check_task_backend() == []  # TASKS not configured: threaded calls stay in the worker
    settings.TASKS = {"reports": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert check_task_backend() == [
        checks.Error(
            "ATM_TASK_BACKEND names the task backend 'default', which TASKS does not configure.",
            hint="Set ATM_TASK_BACKEND to one of ['reports'], or to None to keep threaded calls in the "
            "scheduler worker.",
            id="automations.E050",
        )
    ]
    settings.ATM_TASK_BACKEND = "reports"
    assert check_task_backend() == []
    settings.ATM_TASK_BACKEND = None
    assert check_task_backend() == []
