"""A model the form tests edit with ``flow.ModelForm``."""

from django.db import models


class Expense(models.Model):
    title = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    approved = models.BooleanField(null=True)

    class Meta:
        permissions = [("approve_expense", "Can approve expenses")]

    def __str__(self):
        return self.title
