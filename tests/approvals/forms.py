from django import forms

from .models import Expense


class ExpenseForm(forms.ModelForm):
    class Meta:
        model = Expense
        fields = ["title", "amount"]


class ApprovalForm(forms.Form):
    approved = forms.BooleanField(required=False)
    comment = forms.CharField(required=False, max_length=200)
