"""``ForEach``: one path per item of a list taken from the instance's data when the node runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NoReturn, Self

from automations.outcomes import FanOut, Outcome, Visit

from .control import Split
from .references import NodeName, reference_name


class ForEach(Split):
    """Run the path starting at ``.Do()`` once per item of ``items``; the paths meet at a ``Join``::

        ship_all = flow.ForEach("orders").Do(this.ship).Limit(10).Into("receipts")
        ship = flow.Execute(this.ship_order).Next(this.shipped)
        shipped = flow.Join()

    ``items`` is a key of the instance's data, or a callable (or ``this.method``) that takes the
    task and returns the list. The list is read once, when the node runs; each item must be JSON.
    A path's nodes read their item as ``self.item`` and its position as ``self.item_index``. The
    ``Join`` goes on once every path has arrived (at once for an empty list).
    """

    path_modifier = ".Do(node)"

    def __init__(self, items: object, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._items = items
        self._limit: int | None = None
        self._into: str | None = None

    def Do(self, node: NodeName) -> Self:  # noqa: N802
        """Start each item's path at ``node``."""
        self._paths = [node]
        return self

    def Next(self, node: NodeName) -> NoReturn:  # noqa: N802
        """Refuse: a ``ForEach`` has one path, given by ``.Do()``; its Join goes on afterwards."""
        raise TypeError(
            f"ForEach().Next({reference_name(node)!r}): give the path of each item with .Do(node); "
            "the automation goes on after the Join where the paths meet."
        )

    def Limit(self, paths: int) -> Self:  # noqa: N802
        """Run at most ``paths`` paths at once; the other items wait, in order, holding nothing."""
        if isinstance(paths, bool) or not isinstance(paths, int) or paths < 1:
            raise ValueError(f"ForEach().Limit({paths!r}): give a whole number of paths, 1 or more.")
        self._limit = paths
        return self

    def Into(self, key: str) -> Self:  # noqa: N802
        """Let the Join put each path's result, in the items' order, into ``data[key]``.

        A path's result is what its last node before the Join returned (``None`` for a path that
        ended without reaching the Join).
        """
        if not isinstance(key, str) or not key:
            raise ValueError(f"ForEach().Into({key!r}): give the data key as a non-empty string.")
        self._into = key
        return self

    def references(self) -> Iterator[tuple[str, NodeName]]:
        for value in self._paths:
            yield ".Do()", value

    def runs_code(self) -> bool:
        return True  # reading the items may run the project's code

    def enter(self, visit: Visit) -> Outcome:
        items = self._read_items(visit)
        return FanOut(reference_name(self._paths[0]), items, limit=self._limit, into=self._into)

    def _read_items(self, visit: Visit) -> list[Any]:
        where = f"{self._declaring_class().__name__}.{self._declared_name()}"
        if isinstance(self._items, str):
            if self._items not in visit.automation.data:
                raise KeyError(f"{where}: ForEach({self._items!r}) finds no such key in the data.")
            items = visit.automation.data[self._items]
        else:
            items = self.evaluate(self._items, visit.task)
        if isinstance(items, str | bytes | dict) or not hasattr(items, "__iter__"):
            raise TypeError(f"{where}: ForEach() needs a list of items, not {type(items).__name__}.")
        items = list(items)
        try:
            json.dumps(items, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{where}: the items of ForEach() must be JSON ({exc}).") from exc
        return items
