"""Storing the fields of Dagger's faust records without faust's per-field work where it does nothing.

faust puts a descriptor on every field of a record. Setting a field calls the descriptor's
``__set__``, which prepares the value (a coercion, off unless the record asks for it) and tags it
(only for fields declared secret, sensitive or personal) before storing it in the instance's
``__dict__``. For Dagger's records neither applies, yet a workflow sets more than a hundred fields
when it is built or decoded, so those calls were a large share of the engine's CPU.

:func:`store_fields_directly` gives such fields a descriptor that only stores the value; a field that
coerces or is tagged keeps faust's. :func:`assemble` builds a record from values already converted
to their declared types (as :mod:`dagger.codec` decodes them) the way faust's generated ``__init__``
does (a missing or None optional field takes its default, then ``__post_init__`` runs), writing the
instance's ``__dict__`` at once and marking every field evaluated, so faust's lazy coercion does not
convert them again on first read.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from faust.models import fields as faust_fields

_PLAIN_DESCRIPTOR_TYPES: tuple[type, ...] = (
    faust_fields.FieldDescriptor,
    faust_fields.IntegerField,
    faust_fields.FloatField,
    faust_fields.StringField,
    faust_fields.BooleanField,
)
"""faust's descriptors whose value preparation returns the value unchanged when the field does not coerce."""

_NO_DEFAULT = object()


def _store(self: Any, instance: Any, value: Any) -> None:
    instance.__dict__[self.field] = value


@functools.cache
def _storing(descriptor_type: type) -> type:
    """A subclass of faust's ``descriptor_type`` whose ``__set__`` only stores the value."""
    return type(f"Storing{descriptor_type.__name__}", (descriptor_type,), {"__set__": _store})


def _stores_plainly(descriptor: Any) -> bool:
    """Whether faust's ``__set__`` of ``descriptor`` would store the value as it is."""
    return type(descriptor) in _PLAIN_DESCRIPTOR_TYPES and descriptor.tag is None and not descriptor.coerce


RecordType = TypeVar("RecordType", bound=type)


def store_fields_directly(record_type: RecordType) -> RecordType:
    """Make the fields of ``record_type`` whose faust descriptor would store values unchanged store them
    directly, and return it (a class decorator). A field that a subclass declared coercing gets faust's
    descriptor back.
    """
    for descriptor in record_type._options.descriptors.values():  # type: ignore[attr-defined]
        current = type(descriptor)
        original = current.__mro__[1] if current.__set__ is _store else current
        descriptor.__class__ = original
        if _stores_plainly(descriptor):
            descriptor.__class__ = _storing(original)
    return record_type


@functools.cache
def _layout(record_type: type) -> tuple[tuple[tuple[str, Any], ...], frozenset[str]] | None:
    """The fields of ``record_type`` with their defaults (``_NO_DEFAULT`` when required) and the set of
    lazily coerced ones; None when its ``__init__`` is not faust's or it validates its fields."""
    options = record_type._options  # type: ignore[attr-defined]
    if vars(record_type).get("__init__") is not vars(record_type).get("_model_init") or options.validation:
        return None
    fields = tuple((name, options.defaults.get(name, _NO_DEFAULT)) for name in options.fields)
    lazy = frozenset(name for name, descriptor in options.descriptors.items() if descriptor.lazy_coercion)
    return fields, lazy


def assemble(record_type: type, values: dict[str, Any]) -> Any:
    """Build a ``record_type`` from values of its fields, already of their declared types, as
    ``record_type(**values)`` would; raises TypeError when a required field is missing."""
    layout = _layout(record_type)
    if layout is None:
        return record_type(**values)
    fields, lazy = layout
    record: Any = object.__new__(record_type)
    stored = record.__dict__
    stored["__evaluated_fields__"] = set(lazy)
    for name, default in fields:
        value = values.get(name)
        if value is None:
            if default is _NO_DEFAULT:
                if name not in values:
                    raise TypeError(f"{record_type.__name__} is missing the required field {name!r}")
            else:
                value = default
        stored[name] = value
    post_init = getattr(record, "__post_init__", None)
    if post_init is not None:
        post_init()
    return record
