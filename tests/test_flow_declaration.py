"""Declaring automations: nodes, order, references, inheritance, names and Meta."""

import pytest
from django.contrib.auth.models import User

from automations import flow, registry
from automations.flow import this
from tests.helpers import statuses

pytestmark = pytest.mark.django_db


class Ordered(flow.Automation):
    first = flow.Execute(this.record)
    second = flow.Execute(this.record)
    third = flow.Execute(this.record)
    end = flow.End()

    def record(self, task):
        self.data.setdefault("seen", []).append(task.status)


def test_nodes_are_collected_in_declaration_order_and_named_by_their_attribute():
    assert list(Ordered._nodes) == ["first", "second", "third", "end"]
    assert Ordered.second.name == "second"
    assert repr(Ordered.second) == "<Execute Ordered.second>"


def test_nodes_run_one_after_the_other():
    automation = Ordered()
    assert automation.data["seen"] == ["first", "second", "third"]
    assert statuses(automation) == ["first", "second", "third", "end"]


class JumpByString(flow.Automation):
    start = flow.Execute(this.record).Next("last")
    skipped = flow.Execute(this.record)
    last = flow.Execute(this.record)
    end = flow.End()

    def record(self, task):
        self.data.setdefault("seen", []).append(task.status)


class JumpBySelfString(JumpByString):
    start = flow.Execute("self.record").Next("self.last")


class JumpByThis(JumpByString):
    start = flow.Execute(this.record).Next(this.last)


@pytest.mark.parametrize("cls", [JumpByString, JumpBySelfString, JumpByThis])
def test_next_accepts_a_name_a_self_string_or_this(cls):
    automation = cls()
    assert automation.data["seen"] == ["start", "last"]
    assert statuses(automation) == ["start", "last", "end"]


def test_a_private_this_works_like_the_global_one():
    my_this = flow.This()

    class Private(flow.Automation):
        start = flow.Execute(my_this.mark).Next(my_this.end)
        never = flow.Execute(my_this.mark)
        end = flow.End()

        def mark(self, task):
            self.data["marked"] = task.status

    assert Private().data == {"marked": "start"}


def test_this_records_names_and_refuses_dunder_attributes():
    assert repr(this.anything) == "this.anything"
    assert this.anything == flow.this.anything
    with pytest.raises(AttributeError):
        this.__wrapped__  # noqa: B018 - copy, pickle and inspect probe dunder names


class Base(flow.Automation):
    start = flow.Execute(this.record)
    middle = flow.Execute(this.record)
    end = flow.End()

    def record(self, task):
        self.data.setdefault("seen", []).append(f"{type(self).__name__}.{task.status}")


class Derived(Base):
    middle = flow.Execute(this.record_twice)  # overrides the base's node and keeps its position
    extra = flow.Execute(this.record).Next(this.end)

    def record_twice(self, task):
        self.record(task)
        self.record(task)


def test_subclasses_inherit_nodes_and_an_override_keeps_its_position():
    assert list(Derived._nodes) == ["start", "middle", "end", "extra"]
    assert list(Base._nodes) == ["start", "middle", "end"]
    assert Derived().data["seen"] == ["Derived.start", "Derived.middle", "Derived.middle"]
    assert Base().data["seen"] == ["Base.start", "Base.middle"]


def test_each_class_gets_its_own_copies_of_inherited_nodes():
    assert Derived.start is not Base.start
    assert Derived.start.get_automation_name() == "tests.test_flow_declaration.Derived"
    assert Base.start.get_automation_name() == "tests.test_flow_declaration.Base"


def test_a_subclass_can_replace_a_node_by_a_method():
    class WithoutMiddle(Base):
        def middle(self, task):
            return "a method now"

    assert list(WithoutMiddle._nodes) == ["start", "end"]
    assert WithoutMiddle().data["seen"] == ["WithoutMiddle.start"]


def test_node_description():
    node = flow.Execute(this.record, description="Records the visit")
    assert node.description == "Records the visit"
    assert flow.End().description == ""


class Named(flow.Automation):
    class Meta:
        verbose_name = "Customer onboarding"
        verbose_name_plural = "Customer onboardings"

    end = flow.End()


class Unnamed(flow.Automation):
    end = flow.End()


class NamedChild(Named):
    pass


class NamedChildWithInheritedMeta(Named):
    class Meta(Named.Meta):
        pass


def test_verbose_names():
    assert Named.get_verbose_name() == "Customer onboarding"
    assert Named.get_verbose_name_plural() == "Customer onboardings"
    assert Unnamed.get_verbose_name() == "Automation Unnamed"
    assert Unnamed.get_verbose_name_plural() == "Automations Unnamed"


def test_a_subclass_has_its_own_default_verbose_name_unless_its_meta_inherits():
    assert NamedChild.get_verbose_name() == "Automation NamedChild"
    assert NamedChildWithInheritedMeta.get_verbose_name() == "Customer onboarding"


def test_class_name_is_the_dotted_path_and_registered():
    assert Named.get_automation_class_name() == "tests.test_flow_declaration.Named"
    assert Named().get_automation_class_name() == "tests.test_flow_declaration.Named"
    assert registry.get("tests.test_flow_declaration.Named") is Named


def test_abstract_bases_are_neither_validated_nor_registered():
    class Template(flow.Automation):
        class Meta:
            abstract = True

        start = flow.Execute(this.hook)  # left to subclasses
        end = flow.End()

    class Concrete(Template):
        def hook(self, task):
            self.data["hooked"] = True

    assert Template.get_automation_class_name() not in registry.all_automations()
    assert registry.get(Concrete.get_automation_class_name()) is Concrete
    assert Concrete().data == {"hooked": True}


def test_declaring_an_automation_does_no_database_io(django_assert_num_queries):
    with django_assert_num_queries(0):

        class Quiet(flow.Automation):
            start = flow.Execute(this.noop)
            end = flow.End()

            def noop(self, task):
                return None


def test_a_model_class_attribute_gives_the_instance_stored_by_id():
    class AboutUser(flow.Automation):
        user = User
        welcome = flow.Execute(this.greet)
        end = flow.End()

        def greet(self, task):
            self.data["greeted"] = self.user.username

    ada = User.objects.create(username="ada")
    automation = AboutUser(user=ada)
    assert automation.data == {"user": ada.pk, "greeted": "ada"}
    assert AboutUser.user is User


def test_bound_nodes_expose_the_instance_data_and_resolve_references():
    automation = Ordered(autorun=False)
    node = automation.first
    assert node is not Ordered.first
    assert node.data is automation.data
    assert node.resolve(this.record) == automation.record
    assert node.resolve("self.record") == automation.record
    assert node.resolve(42) == 42
    assert Ordered.first.ready(automation)._automation is automation


def test_the_flow_facade_exports_a_sorted_public_api():
    assert flow.__all__ == sorted(flow.__all__)
    for name in flow.__all__:
        assert getattr(flow, name) is not None
    assert flow.Node.AfterPausingFor is flow.Node.AfterWaitingFor
