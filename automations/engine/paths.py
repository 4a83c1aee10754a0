"""Path frames: where a path of an instance runs among the splits it is inside.

A task's ``path`` is the stack of splits its path is inside, outermost first, joined by ``/``. Each
frame is ``"<split task id>@<join name>"``: the task of the split that started the path and the
``Join`` where its paths meet (only ``"<split task id>"`` if the split has no matching Join). A path
of a fan-out (``ForEach``) also names the index of its item: ``"<task id>#<index>@<join name>"``;
its path and those of the other items differ in that index only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    """One split a path is inside: the split's task id (as stored), the Join where its paths meet,
    and for a fan-out's path the index of its item."""

    split_task: str
    join: str | None = None
    item: int | None = None

    @classmethod
    def parse(cls, text: str) -> Frame:
        """Return the frame written as ``text`` (``"12@merge"``, ``"12#3@merge"`` or ``"12"``)."""
        split_task, _, join = text.partition("@")
        split_task, has_item, item = split_task.partition("#")
        return cls(split_task, join or None, int(item) if has_item else None)

    def __str__(self) -> str:
        split_task = self.split_task if self.item is None else f"{self.split_task}#{self.item}"
        return f"{split_task}@{self.join}" if self.join else split_task


def frame(split_task_pk: int | str | None, join_name: str | None, item: int | None = None) -> str:
    """Return the frame of the split task ``split_task_pk`` whose paths meet at ``join_name``.

    ``item``: the index of the item of a fan-out's path.
    """
    return str(Frame(str(split_task_pk), join_name or None, item))


def item_of(text: str) -> int | None:
    """Return the index of the item of the frame ``text`` (a fan-out's path), or ``None``."""
    return Frame.parse(text).item if "#" in text else None


def frame_join(text: str) -> str | None:
    """Return the name of the Join of the frame ``text``, or ``None``."""
    return Frame.parse(text).join


def within(stack: tuple[str, ...], prefix: str) -> bool:
    """Return whether a path with the frames ``stack`` is inside the path ``prefix`` (or is it)."""
    joined = "/".join(stack)
    return joined == prefix or joined.startswith(prefix + "/")


def split_stack(path: str) -> tuple[str, ...]:
    """Return the frames of the stored ``path`` as text, outermost first."""
    return tuple(path.split("/")) if path else ()


def frames(path: str) -> tuple[Frame, ...]:
    """Return the frames of the stored ``path``, outermost first (``()`` outside every split)."""
    return tuple(Frame.parse(text) for text in split_stack(path))
