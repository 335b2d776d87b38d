"""The SDK's converter: reads payloads into models and pages, and names the field that does not fit.

:class:`Converter` holds the fast cattrs converter (generated hooks, used for every read) and its
detailed variant (used only after a failure, to find the failing field's path), and the caches both
share. A failure raises :class:`ResponseValidationError` naming the field path, e.g.
``items[3].contact.uuid``, with the request's method and path.
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, TypeVar

import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError, IterableValidationError

from ..errors import ResponseValidationError
from ..models.page import Page
from ._caches import HookCaches
from ._factory import make_converter
from ._scalars import int_or_none, kind

T = TypeVar("T")

_PAGE_FIGURES = ("current_page", "last_page", "items_count", "page_length")
_ENVELOPE = ("items", "pagination")
MAX_CURSOR_CHARS = 4096  # a longer next_page_cursor is refused as not fitting
STEP_ITEMS = 250  # models built in one step of structure_page_steps (about 1.5 ms of CPU)


class Converter:
    """The SDK's converter: the fast cattrs converter, and its detailed variant to name failures."""

    def __init__(self) -> None:
        self.caches = HookCaches()  # shared by both variants

    @functools.cached_property
    def fast(self) -> cattrs.Converter:
        """The converter of the generated hooks (built on first use: importing costs nothing)."""
        return make_converter(caches=self.caches)

    @functools.cached_property
    def detailed(self) -> cattrs.Converter:
        """cattrs' detailed validation, used only to name the field of a payload that failed."""
        return make_converter(detailed=True, caches=self.caches)

    def clear_caches(self) -> None:
        """Forget the shared instances (benchmarks use it to time cold pages)."""
        self.caches.clear()

    def structure(self, payload: Any, cl: type[T], *, method: str = "", path: str = "") -> T:
        """``payload`` as a ``cl``, or :class:`ResponseValidationError` naming the failing field."""
        try:
            return self.fast.structure(payload, cl)
        except Exception:
            raise self._explain(payload, cl, method, path, "") from None

    def structure_page(
        self,
        payload: Any,
        item_type: type[T],
        *,
        method: str = "",
        path: str = "",
        reread: Callable[[], Any] | None = None,
    ) -> Page[T]:
        """A list answer ``{"items": [...], "pagination": {...}}`` as a Page of ``item_type``.

        Both keys must be present (``items`` null and ``pagination`` null or ``[]`` read as empty).
        Missing pagination fields read as None; forms send no ``next_page_cursor``. Pagination
        figures must be integers (integral strings accepted) and the cursor a string of at most
        ``MAX_CURSOR_CHARS`` characters.

        With ``reread`` (a function that decodes the same answer again), the payload is the
        caller's no more: each item leaves ``payload["items"]`` as its model is built, so that the
        objects it came as are freed at once rather than with the whole page (fewer objects alive
        at once: fewer and shorter collections). A failure is then explained from ``reread()``.
        """
        steps = self.structure_page_steps(
            payload, item_type, method=method, path=path, reread=reread, step=sys.maxsize
        )  # one step: every model at once
        while True:
            try:
                next(steps)
            except StopIteration as done:
                page: Page[T] = done.value
                return page

    def structure_page_steps(
        self,
        payload: Any,
        item_type: type[T],
        *,
        method: str = "",
        path: str = "",
        reread: Callable[[], Any] | None = None,
        step: int = STEP_ITEMS,
    ) -> Generator[None, None, Page[T]]:
        """:meth:`structure_page` in steps: a generator that builds ``step`` models a step and
        pauses (yields) between two, so that a caller on an event loop lets it turn meanwhile. It
        returns the Page."""
        raw_items = _items(payload, method, path)
        count = len(raw_items)
        hook = self.fast.get_structure_hook(item_type)
        build = self._builder(raw_items, hook, item_type)
        source = iter(raw_items) if reread is None else _taken(raw_items)
        built: list[T] = []
        try:
            for start in range(0, count, step):
                built += build(itertools.islice(source, step))
                if start + step < count:
                    yield
        except Exception:
            if reread is not None:  # the items read so far are gone: take them afresh
                raw_items = _items(reread(), method, path)
            try:  # one dispatched by size may have met other keys of that size (now learned)
                built = [hook(item, item_type) for item in raw_items]
            except Exception:
                raise self._explain_items(raw_items, item_type, method, path) from None
        return _page(tuple(built), payload, method, path)

    def _builder(
        self, raw_items: list[Any], hook: Callable[[Any, Any], T], item_type: type[T]
    ) -> Callable[[Iterable[Any]], list[T]]:
        """What builds the models of a run of ``raw_items``: when every item is of one size (the
        usual page), the hook for that size in one C-level loop; else each item's hook for its
        size, called straight away (see compile_fast_hook); else ``hook``, the model's."""
        by_size = self.caches.by_size.get(hook)
        if by_size is None:
            return lambda run: [hook(item, item_type) for item in run]
        sizes = set(map(len, raw_items))
        uniform = by_size.get(sizes.pop()) if len(sizes) == 1 else None
        if uniform is not None:
            return functools.partial(_each, uniform)
        size = by_size.get
        return lambda run: [
            read(item) if (read := size(len(item))) else hook(item, item_type) for item in run
        ]

    def page_of_dicts(
        self, payload: Any, *, method: str = "", path: str = ""
    ) -> Page[dict[str, Any]]:
        """A list answer as a Page of its items as the API sent them (objects, untouched), with the
        envelope and figures checked as :meth:`structure_page` checks them."""
        items = _items(payload, method, path)
        for index, item in enumerate(items):
            if type(item) is not dict:
                problem = f"expected an object, got {kind(item)}"
                raise _invalid(problem, method, path, f"items[{index}]")
        return _page(tuple(items), payload, method, path)

    def _explain_items(
        self, raw_items: list[Any], item_type: type[T], method: str, path: str
    ) -> ResponseValidationError:
        hook = self.fast.get_structure_hook(item_type)
        for index, item in enumerate(raw_items):
            try:
                hook(item, item_type)
            except Exception:
                return self._explain(item, item_type, method, path, f"items[{index}]")
        return _invalid("items do not fit", method, path, "items")  # pragma: no cover

    def _explain(
        self, payload: Any, cl: type[T], method: str, path: str, root: str
    ) -> ResponseValidationError:
        try:
            self.detailed.structure(payload, cl)
        except Exception as exc:
            field_path, problem = _first_problem(exc, root)
            return _invalid(problem, method, path, field_path)
        return _invalid("does not fit", method, path, root)  # pragma: no cover


def _first_problem(exc: BaseException, path: str) -> tuple[str, str]:
    """The path and description of the first leaf error under a cattrs validation error."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                sub_path = f"{path}.{note.name}" if path else note.name
            else:
                sub_path = f"{path}[{note.index!r}]"
            return _first_problem(sub, sub_path)
        if without:
            return _first_problem(without[0], path)
    if isinstance(exc, KeyError):
        return path, "required field missing"
    return path, str(exc) or type(exc).__name__


def _invalid(problem: str, method: str, path: str, field_path: str) -> ResponseValidationError:
    where = field_path or "the response body"
    return ResponseValidationError(
        f"{where}: {problem}", method=method, path=path, field_path=field_path
    )


def _items(payload: Any, method: str, path: str) -> list[Any]:
    """The ``items`` of a list answer; ResponseValidationError unless it is a list envelope."""
    if type(payload) is not dict:
        raise _invalid(f"expected an object, got {kind(payload)}", method, path, "")
    for key in _ENVELOPE:
        if key not in payload:  # not a list answer: reading it as an empty last page loses data
            raise _invalid("missing from the list envelope", method, path, key)
    raw_items = payload.get("items")
    if raw_items is None:
        return []
    if type(raw_items) is not list:
        raise _invalid(f"expected an array, got {kind(raw_items)}", method, path, "items")
    return raw_items


def _each(read: Callable[[Any], T], run: Iterable[Any]) -> list[T]:
    """``read`` applied to every item of ``run``, in one C-level loop."""
    return list(map(read, run))


def _taken(items: list[Any]) -> Iterator[Any]:
    """The items of ``items`` in order, each removed from the list as it is taken (one C-level
    loop: reversed once, then popped from the end)."""
    items.reverse()
    return map(items.pop, itertools.repeat(-1, len(items)))


def _page(items: tuple[T, ...], payload: dict[str, Any], method: str, path: str) -> Page[T]:
    """A Page of ``items`` with the figures and cursor of the answer's ``pagination``."""
    pagination = payload.get("pagination")
    if pagination is None or pagination == []:
        pagination = {}
    if type(pagination) is not dict:
        raise _invalid(f"expected an object, got {kind(pagination)}", method, path, "pagination")
    figures: dict[str, int | None] = {}
    for name in _PAGE_FIGURES:
        try:
            figures[name] = int_or_none(pagination.get(name))
        except TypeError as exc:
            raise _invalid(str(exc), method, path, f"pagination.{name}") from None
    cursor = pagination.get("next_page_cursor")
    if cursor is not None:
        if type(cursor) is not str or len(cursor) > MAX_CURSOR_CHARS:
            problem = (
                f"expected a string, got {kind(cursor)}"
                if type(cursor) is not str
                else f"longer than {MAX_CURSOR_CHARS} characters"
            )
            raise _invalid(problem, method, path, "pagination.next_page_cursor")
        if not cursor:
            cursor = None  # an empty cursor means there is no next page
    return Page(
        items=items,
        current_page=figures["current_page"],
        last_page=figures["last_page"],
        items_count=figures["items_count"],
        page_length=figures["page_length"],
        next_page_cursor=cursor,
    )
