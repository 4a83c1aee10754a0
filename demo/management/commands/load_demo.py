from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from automations.models import AutomationModel
from demo.automations import AutomationReport, ExpenseApproval, TrialJourney

MANAGERS = "Managers"
USERS = [
    # username (= password), superuser, in Managers, what to do with it
    ("admin", True, False, "superuser: admin site, every task"),
    ("manager", False, True, f"member of {MANAGERS}: approves expense claims"),
    ("alice", False, False, "employee and trial customer"),
]


class Command(BaseCommand):
    help = (
        "Create the demo users (passwords: their names) and start a few demo automations; running it "
        "again changes nothing. Refused unless DEBUG is on or --insecure-demo-users is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--insecure-demo-users",
            action="store_true",
            help="Create the demo users with their known passwords even though DEBUG is off.",
        )

    def handle(self, *args, insecure_demo_users=False, **options):
        if not (settings.DEBUG or insecure_demo_users):
            raise CommandError(
                "load_demo creates users with known passwords (admin/admin is a superuser), so it only "
                "runs with DEBUG on (DJANGO_DEBUG=1, as `make run` sets it). To create them on this site "
                "anyway, run `manage.py load_demo --insecure-demo-users`."
            )
        with transaction.atomic():
            managers, _ = Group.objects.get_or_create(name=MANAGERS)
            users = {}
            for name, superuser, in_group, _role in USERS:
                users[name] = self.ensure_user(name, superuser, managers if in_group else None)
        self.start_instances(users)
        self.stdout.write("Demo logins (username / password):")
        for name, _superuser, _in_group, role in USERS:
            self.stdout.write(f"  {name} / {name}  ({role})")

    def ensure_user(self, username, superuser, group):
        """Create the user ``username`` (password: the same) unless it exists; return it."""
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@example.com", "is_staff": superuser, "is_superuser": superuser},
        )
        if created:
            user.set_password(username)
            user.save(update_fields=["password"])
            self.stdout.write(f"Created user {username}.")
        if group is not None:
            user.groups.add(group)
        return user

    def start_instances(self, users):
        """Start the report, and a trial journey and an expense claim for alice, unless they run already."""
        alice = users["alice"]
        report = AutomationReport()  # a singleton: binds to the running report if there is one
        journey = TrialJourney(customer=alice)  # unique per customer
        running = AutomationModel.objects.filter(
            automation_class=ExpenseApproval.get_automation_class_name(),
            status__in=AutomationModel.Status.active(),
            data__requester=alice.pk,
        ).first()
        if running is not None:
            claim = running.instance
        else:
            claim = ExpenseApproval(requester=alice, amount="120.00", purpose="Team lunch with a customer")
        for instance in (report, journey, claim):
            self.stdout.write(f"{instance.get_verbose_name()} #{instance.id} is running.")
