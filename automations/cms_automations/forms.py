"""Plugin forms: the choices are computed each time a form is built."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import choices, conf
from .models import AutomationHookPluginModel, AutomationStatusPluginModel, AutomationTaskListPluginModel


class AutomationTaskListForm(forms.ModelForm):
    """Choose one of the task list templates of ``ATM_CMS_TASK_LIST_TEMPLATES``."""

    template = forms.ChoiceField(label=_("Template"), choices=())

    class Meta:
        model = AutomationTaskListPluginModel
        fields = ["template"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(path, str(name)) for path, name in conf.task_list_templates()]


class _AutomationChoiceForm(forms.ModelForm):
    """A form whose one select stores an automation class path and a name in two model fields."""

    choice_field = ""
    name_attribute = ""

    def offered_choices(self):
        """Return the grouped choices of the select."""
        raise NotImplementedError

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields[self.choice_field]
        field.choices = self.offered_choices()
        if self.instance.automation:
            field.initial = choices.join_choice(
                self.instance.automation, getattr(self.instance, self.name_attribute)
            )

    def clean(self):
        cleaned_data = super().clean()
        value = cleaned_data.get(self.choice_field)
        if value:
            self.instance.automation, name = choices.split_choice(value)
            setattr(self.instance, self.name_attribute, name)
        return cleaned_data


class AutomationStatusForm(_AutomationChoiceForm):
    """Choose one of the status templates that automations declare in their ``Meta``."""

    status_template = forms.ChoiceField(
        label=_("Status template"),
        choices=(),
        help_text=_("The instance is the one whose key is in the page's key GET parameter."),
    )
    choice_field = "status_template"
    name_attribute = "template"

    class Meta:
        model = AutomationStatusPluginModel
        fields: list[str] = []

    def offered_choices(self):
        return choices.status_template_choices()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.fields["status_template"].choices:
            self.fields["status_template"].help_text = choices.NO_STATUS_TEMPLATES


class AutomationHookForm(_AutomationChoiceForm):
    """Choose a published receiver, an optional token, and which instances receive the message."""

    receiver = forms.ChoiceField(label=_("Message"), choices=())
    choice_field = "receiver"
    name_attribute = "message"

    class Meta:
        model = AutomationHookPluginModel
        fields = ["receiver", "token", "send_to"]

    def offered_choices(self):
        return choices.receiver_choices()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.fields["receiver"].choices:
            self.fields["receiver"].help_text = choices.NO_RECEIVERS
