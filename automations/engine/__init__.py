"""The engine: the one place where automation instances advance.

``advance()`` runs one *step* of one instance (:mod:`.steps`); ``sweep()`` advances every due
instance once (:mod:`.sweep`). Rows are locked in :mod:`.locking`; the paths of parallel branches
are described in :mod:`.paths`. Everything else calls this package: ``Automation.run()``,
``AutomationModel.run()`` (the sweep of ``manage.py automation_step``), the form views and the
scheduler worker.
"""

from .batches import Batch
from .locking import lock_rows
from .paths import Frame, frames
from .steps import StepResult, Submission, advance, lock_for_message, prepare, save_after_message
from .sweep import sweep

__all__ = [
    "Batch",
    "Frame",
    "StepResult",
    "Submission",
    "advance",
    "frames",
    "lock_for_message",
    "lock_rows",
    "prepare",
    "save_after_message",
    "sweep",
]
