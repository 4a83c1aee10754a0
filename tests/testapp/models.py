"""Models the test automations write to."""

from django.db import models


class NodeEffect(models.Model):
    """One node's effect: a node that ran twice for one instance violates the unique constraint."""

    automation_id = models.BigIntegerField()
    node = models.CharField(max_length=100)
    worker = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["automation_id", "node"], name="testapp_effect_once")]

    def __str__(self):
        return f"{self.automation_id}.{self.node}"


class Counter(models.Model):
    """A named counter, incremented in the database (lost updates would show)."""

    name = models.CharField(max_length=100, unique=True)
    value = models.IntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"

    @classmethod
    def increment(cls, name, by=1):
        cls.objects.get_or_create(name=name)
        cls.objects.filter(name=name).update(value=models.F("value") + by)

    @classmethod
    def get(cls, name):
        return cls.objects.filter(name=name).values_list("value", flat=True).first() or 0


class Document(models.Model):
    """Something an automation can be about."""

    title = models.CharField(max_length=100)

    def __str__(self):
        return self.title
