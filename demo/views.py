"""The demo site: a home page to start the demo automations and watch them, and a pricing page."""

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.events import wakeups
from automations.models import AutomationModel, AutomationTaskModel
from automations.page_views import instance_for_key
from automations.views.errors import not_found

from .automations import AutomationReport, ExpenseApproval, InvoiceSync, TrialJourney
from .forms import ExpenseClaimForm
from .models import ReportSnapshot


def post_or_home(view):
    """Let ``view`` take POST requests; a GET (an old bookmark, a reload) goes back to the home page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "POST":
            messages.info(request, _("That address only takes a button press: here is the start page."))
            return redirect("demo_home")
        return view(request, *args, **kwargs)

    return wrapped


PLANS = {"starter": gettext_lazy("Starter, 9 EUR a month"), "team": gettext_lazy("Team, 29 EUR a month")}
DEMO_MODULE = "demo.automations."


@dataclass
class DemoAutomation:
    """An entry of the home page's list: an automation class and how to start it."""

    automation_class: type
    summary: str
    start_url: str
    form: object = None

    @property
    def verbose_name(self):
        return self.automation_class.get_verbose_name()


def demo_automations(expense_form=None):
    """Return the entries of the home page's list of demo automations."""
    return [
        DemoAutomation(
            ExpenseApproval,
            _(
                "You claim an expense; a member of the group Managers (log in as manager) approves or "
                "rejects it in the task list. Amounts below %(limit)s EUR are approved at once."
            )
            % {"limit": ExpenseApproval.APPROVE_BELOW},
            "demo_start_expense",
            expense_form or ExpenseClaimForm(),
        ),
        DemoAutomation(
            TrialJourney,
            _(
                "You start a free trial: a welcome message, a reminder after 5 seconds unless you have "
                "looked at the pricing page by then, a thank-you as soon as you buy, and a last message if "
                "the 2-minute trial runs out."
            ),
            "demo_start_trial",
        ),
        DemoAutomation(
            InvoiceSync,
            _(
                "An invoice is sent to a partner service that fails about one time in three: a failed one "
                "shows on the errors page, and staff can retry it from the instance page."
            ),
            "demo_start_invoice",
        ),
        DemoAutomation(
            AutomationReport,
            _(
                "Every minute, a row counting the automation instances by state (shown below). "
                "Only one runs at a time."
            ),
            "demo_start_report",
        ),
    ]


@dataclass
class InstanceState:
    """What the home page shows about one automation instance."""

    model: AutomationModel
    open_nodes: list
    now: object

    @property
    def verbose_name(self):
        return self.model.get_automation_class().get_verbose_name()

    @property
    def is_journey(self):
        return (
            self.model.automation_class == TrialJourney.get_automation_class_name()
            and self.model.is_active
        )

    @property
    def state(self):
        status = self.model.get_status_display()
        if not self.model.is_active:
            return status
        nodes = ", ".join(self.open_nodes) or "-"
        if self.model.status == self.model.Status.WAITING_FOR_TIME and self.model.wake_at is not None:
            until = f"{timezone.localtime(self.model.wake_at):%H:%M:%S}"
            return _("%(status)s (until %(until)s), at %(nodes)s") % {
                "status": status, "until": until, "nodes": nodes
            }
        return _("%(status)s, at %(nodes)s") % {"status": status, "nodes": nodes}


def instances_of(user, limit=20):
    """Return the states of the demo instances started by or for ``user``, newest first."""
    models = list(
        AutomationModel.objects.filter(automation_class__startswith=DEMO_MODULE)
        .filter(Q(data__customer=user.pk) | Q(data__requester=user.pk))
        .order_by("-pk")[:limit]
    )
    open_nodes = {model.pk: [] for model in models}
    for automation_id, node in (
        AutomationTaskModel.objects.filter(automation_id__in=open_nodes, finished=None)
        .order_by("pk")
        .values_list("automation_id", "status")
    ):
        open_nodes[automation_id].append(node)
    now = timezone.now()
    return [InstanceState(model, open_nodes[model.pk], now) for model in models]


def home(request, expense_form=None):
    """List the demo automations with buttons to start them, and the user's instances and messages."""
    context = {
        "automations": demo_automations(expense_form),
        "worker": wakeups.worker_available(),
        "report": ReportSnapshot.objects.first(),
    }
    if request.user.is_authenticated:
        context["instances"] = instances_of(request.user)
        context["notifications"] = request.user.demo_notifications.all()[:10]
    return render(request, "demo/home.html", context)


@login_required
@post_or_home
def start_trial(request):
    """Start a trial journey for the current user (one at a time)."""
    running = AutomationModel.objects.filter(
        automation_class=TrialJourney.get_automation_class_name(),
        status__in=AutomationModel.Status.active(),
        data__customer=request.user.pk,
    ).first()
    if running is not None:
        messages.info(request, _("Your trial journey #%(pk)s is still running.") % {"pk": running.pk})
    else:
        journey = TrialJourney(customer=request.user)
        messages.success(
            request, _("Trial journey #%(pk)s started: check your messages.") % {"pk": journey.id}
        )
    return redirect("demo_home")


@login_required
@post_or_home
def start_expense(request):
    """Claim an expense: start an approval for the current user."""
    form = ExpenseClaimForm(request.POST)
    if not form.is_valid():
        return home(request, expense_form=form)
    claim = ExpenseApproval(
        requester=request.user, amount=str(form.cleaned_data["amount"]), purpose=form.cleaned_data["purpose"]
    )
    messages.success(request, _("Expense claim #%(pk)s filed.") % {"pk": claim.id})
    return redirect("demo_home")


@login_required
@post_or_home
def start_invoice(request):
    """Send an invoice for the current user through the unreliable partner service."""
    sync = InvoiceSync(customer=request.user, amount="49.00")
    if AutomationModel.objects.get(pk=sync.id).error:
        messages.warning(
            request, _("Invoice sync #%(pk)s failed: the errors page shows why.") % {"pk": sync.id}
        )
    else:
        messages.success(request, _("Invoice sync #%(pk)s sent the invoice.") % {"pk": sync.id})
    return redirect("demo_home")


@login_required
@post_or_home
def start_report(request):
    """Start the recurring report (a singleton: a running report is kept)."""
    report = AutomationReport()
    messages.success(request, _("Automation report #%(pk)s runs every minute.") % {"pk": report.id})
    return redirect("demo_home")


@login_required
@post_or_home
def run_due(request):
    """Advance every due instance once, as ``manage.py automation_step`` does from cron."""
    counts = AutomationModel.run()
    messages.info(
        request,
        _("Advanced %(advanced)s instance(s): %(finished)s finished, %(errors)s stopped by an error.")
        % counts,
    )
    return redirect("demo_home")


def _journey_key(request):
    """Return the key of the trial journey the request names, or ``None`` if no journey has it."""
    key = request.POST.get("key") if request.method == "POST" else request.GET.get("key")
    return key if instance_for_key(TrialJourney, key) is not None else None


def _no_journey(request):
    # A visitor reaches this with an old or edited link: the site's 404 page, in DEBUG too.
    return not_found(request, _("No trial journey has this key."))


def pricing(request):
    """Show the plans; viewing the page sends ``page_viewed`` to the journey named by ``?key=``."""
    key = _journey_key(request)
    if key is None:
        return _no_journey(request)
    TrialJourney.dispatch_message(key, "page_viewed", "pricing", request)
    return render(request, "demo/pricing.html", {"key": key, "plans": PLANS})


@post_or_home
def buy(request):
    """Buy a plan: send ``converted`` with the plan to the journey named by ``key``."""
    key = _journey_key(request)
    if key is None:
        return _no_journey(request)
    plan = request.POST.get("plan")
    if plan not in PLANS:
        return HttpResponseBadRequest("Unknown plan.")
    TrialJourney.dispatch_message(key, "converted", "web", {"plan": plan})
    messages.success(request, _("Thank you: you bought the %(plan)s plan.") % {"plan": PLANS[plan]})
    return redirect("demo_home")


class LogoutPage(auth_views.LogoutView):
    """Log out on POST; a GET shows a page with the button instead of an empty 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "demo/logout.html")
