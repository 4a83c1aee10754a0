"""The engine: the one place where automation instances advance.

``advance()`` runs one *step* of one instance (:mod:`.steps`, walking the paths with :mod:`.walk`
and writing task rows with :mod:`.writes`); ``advance_created()`` the first step of an instance
created in the same transaction; ``deliver()`` is the one door for a message;
``advance_due()`` advances due instances together (:mod:`.batches`); ``sweep()`` advances every due
instance once (:mod:`.sweep`). Rows are locked in :mod:`.locking`; the paths of parallel branches are
described in :mod:`.paths`; what follows a committed step is registered in :mod:`.hooks`, what else
a sweep does in :mod:`.sweep_jobs`. Everything else calls this package: ``Automation.run()``,
``AutomationModel.run()`` (the sweep of ``manage.py automation_step``), the form views and the
scheduler worker.
"""

from automations.outcomes import Submission

from . import admission, hooks, sweep_jobs
from .batches import advance_due
from .fanout import path_item_of
from .locking import lock_rows
from .paths import Frame, frames
from .steps import Message, advance, advance_created, deliver, mark_error
from .sweep import sweep
from .walk import StepResult

admission.use_advance(advance)

__all__ = [
    "Frame",
    "Message",
    "StepResult",
    "Submission",
    "admission",
    "advance",
    "advance_created",
    "advance_due",
    "deliver",
    "frames",
    "hooks",
    "lock_rows",
    "mark_error",
    "path_item_of",
    "sweep",
    "sweep_jobs",
]
