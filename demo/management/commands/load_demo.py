from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from automations.models import AutomationModel
from demo.automations import AutomationReport, ExpenseApproval, TrialJourney

MANAGERS = "Managers"
EMPLOYEES = "Employees"  # may claim expenses from the start menu
CUSTOMERS = "Customers"  # may start a trial from the start menu
USERS = [
    # username (= password), superuser, groups, what to do with it
    ("admin", True, [], "superuser: admin site, every task, starts everything"),
    ("manager", False, [MANAGERS, EMPLOYEES], f"member of {MANAGERS}: approves expense claims"),
    ("alice", False, [EMPLOYEES, CUSTOMERS], "employee and trial customer: claims expenses, starts a trial"),
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
            names = (MANAGERS, EMPLOYEES, CUSTOMERS)
            groups = {name: Group.objects.get_or_create(name=name)[0] for name in names}
            users = {}
            for name, superuser, group_names, _role in USERS:
                users[name] = self.ensure_user(name, superuser, [groups[group] for group in group_names])
        self.start_instances(users)
        self.stdout.write("Demo logins (username / password):")
        for name, _superuser, _groups, role in USERS:
            self.stdout.write(f"  {name} / {name}  ({role})")

    def ensure_user(self, username, superuser, groups):
        """Create the user ``username`` (password: the same) unless it exists, in ``groups``; return it."""
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@example.com", "is_staff": superuser, "is_superuser": superuser},
        )
        if created:
            user.set_password(username)
            user.save(update_fields=["password"])
            self.stdout.write(f"Created user {username}.")
        user.groups.add(*groups)
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
