"""The one wire and storage format of Dagger's records: compact JSON.

A record becomes a JSON object of its fields plus ``"__faust": {"ns": <class namespace>}``; nested
records are encoded the same way, UUIDs as strings, sets and tuples as lists. Decoding looks the
namespace up in faust's model registry, so every task comes back as its concrete class, and converts
each field by its declared type. Unknown fields are ignored and missing ones take their defaults, so
records written by another version of a class still decode. Nothing is ever unpickled. orjson writes
and reads the JSON. Python's ``json`` takes over for what orjson refuses: integers beyond 64 bits, and
records read that an earlier version wrote with Python's NaN and infinities (orjson writes those, which
JSON lacks, as null).

A process that lacks the module of a record's class (a dashboard reading the task update topic, say)
decodes that record as the type declared where it is found (``ITask`` for the tasks of a workflow, the
``expected`` type at the top) and logs one warning per such class. The fields of the declared type are
converted as usual; the data's other fields stay reachable, as faust leaves them: plain attributes with
their JSON values (a nested record among them stays a dict), unless they would hide an attribute of the
declared type. With no declared type to fall back to, or when decoding ``strict``ly (as the engine
reads the workflows it runs and stores, which must never lose their classes), the record is refused.
"""

from __future__ import annotations

import functools
import json
import logging
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from faust import Record
from faust.models.base import registry
from faust.serializers import codecs

from dagger._record_fields import assemble

METADATA_KEY = "__faust"
_ORDERED_SET_FIELDS = frozenset({"parallel_child_task_list"})
"""Fields declared as sets whose order matters (the order children start in): decoded as lists."""

Converter = Callable[[Any], Any]

logger = logging.getLogger(__name__)
_warned_namespaces: set[str] = set()
"""The unknown record types already warned about: one warning per type, not per record."""


class RecordDecodeError(ValueError):
    """Bytes or data that are not an encoded Dagger record."""


def to_data(record: Record) -> dict[str, Any]:
    """Return ``record`` as JSON-ready data, nested records included."""
    return _AS_JSON_DATA.record(record)


def from_data(data: Any, expected: type | None = None, *, strict: bool = False) -> Any:
    """Rebuild the record that :func:`to_data` gave ``data`` for, as its concrete class.

    A class not registered in this process is replaced by ``expected``, or refused when ``strict`` (see
    the module's docstring).
    """
    if isinstance(data, Record):
        return data
    if not isinstance(data, dict):
        raise RecordDecodeError(f"expected an encoded record (a JSON object), got {type(data).__name__}")
    namespace = (data.get(METADATA_KEY) or {}).get("ns")
    if namespace is None:
        if expected is None:
            raise RecordDecodeError("the data names no record type")
        return _build(expected, data, strict)
    record_type = registry.get(namespace)
    if record_type is None:
        if strict or expected is None:
            raise RecordDecodeError(f"unknown record type {namespace!r}; is the module defining it imported?")
        return _build_as_declared(namespace, data, expected)
    return _build(record_type, data, strict)


def dumps(record: Record) -> bytes:
    """Encode ``record`` as compact JSON bytes."""
    try:
        return orjson.dumps(_AS_ORJSON_DATA.record(record), option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # an integer beyond 64 bits, which orjson does not write
        return json.dumps(to_data(record), separators=(",", ":"), ensure_ascii=False).encode()


def loads(payload: bytes | str, expected: type | None = None, *, strict: bool = False) -> Any:
    """Decode bytes written by :func:`dumps` as :func:`from_data` does; raises :class:`RecordDecodeError`
    for anything else."""
    try:
        data = orjson.loads(payload)
    except (ValueError, TypeError):
        try:  # what orjson refuses and Python's json reads: NaN, infinities, integers beyond 64 bits
            data = json.loads(payload)
        except (ValueError, TypeError) as error:
            raise RecordDecodeError(f"not JSON: {error}") from error
    return from_data(data, expected, strict=strict)


class RecordCodec(codecs.Codec):
    """The faust codec ``"dagger"``: topics and tables that carry Dagger records use it."""

    def _dumps(self, obj: Any) -> bytes:
        return dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return loads(s)


codecs.register("dagger", RecordCodec())


def plain(value: Any) -> Any:
    """Return ``value`` (a record, or a structure of records, UUIDs, enums and JSON values) as JSON-ready data."""
    return _AS_JSON_DATA.value(value)


def _as_is(value: Any) -> Any:
    return value


def _enum_value(value: Enum) -> Any:
    return value.value


_JSON_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})


class _DataWriter:
    """Turns records, and the values they hold, into data for a JSON encoder.

    A record becomes an object of its fields carrying its namespace; sets and tuples become lists, enums
    their values; UUIDs (values and dictionary keys) become what ``uuid_as`` makes of them: strings for
    JSON-ready data, themselves for orjson, which writes them in the same form faster. How to convert
    each type is worked out once, the first time the type is met.
    """

    def __init__(self, uuid_as: Converter) -> None:
        self._uuid_as = uuid_as
        self._converters: dict[type, Converter] = {}
        self._kept = _JSON_SCALARS | ({UUID} if uuid_as is _as_is else frozenset())
        """The types whose values are written as they are, told apart without a call."""

    def value(self, value: Any) -> Any:
        """Return ``value`` as data for the encoder."""
        kind = type(value)
        convert = self._converters.get(kind)
        if convert is None:
            convert = self._converters[kind] = self._converter(kind)
        return convert(value)

    def record(self, record: Record) -> dict[str, Any]:
        """Return ``record`` as a JSON object's data, nested records included."""
        value, kept = self.value, self._kept
        data = {}
        for name in record._options.fields:
            item = getattr(record, name, None)
            data[name] = item if type(item) in kept else value(item)
        data[METADATA_KEY] = {"ns": record._options.namespace}
        return data

    def _mapping(self, mapping: dict[Any, Any]) -> dict[Any, Any]:
        value, kept, uuid_as = self.value, self._kept, self._uuid_as
        return {
            uuid_as(key) if isinstance(key, UUID) else key: item if type(item) in kept else value(item)
            for key, item in mapping.items()
        }

    def _items(self, items: Any) -> list[Any]:
        value, kept = self.value, self._kept
        return [item if type(item) in kept else value(item) for item in items]

    def _converter(self, kind: type) -> Converter:
        if kind is type(None) or issubclass(kind, str | int | float | bool):
            return _as_is
        if issubclass(kind, UUID):
            return self._uuid_as
        if issubclass(kind, Record):
            return self.record
        if issubclass(kind, dict):
            return self._mapping
        if issubclass(kind, list | tuple | set | frozenset):
            return self._items
        if issubclass(kind, Enum):
            return _enum_value
        raise TypeError(f"cannot encode a {kind.__name__} in a Dagger record")


_AS_JSON_DATA = _DataWriter(uuid_as=str)
_AS_ORJSON_DATA = _DataWriter(uuid_as=_as_is)


def _build(record_type: type, data: dict[str, Any], strict: bool) -> Any:
    fields = {}
    for name, convert in _field_converters(record_type, strict):
        if name in data:
            value = data[name]
            fields[name] = convert(value) if convert is not None and value is not None else value
    try:
        return assemble(record_type, fields)
    except TypeError as error:
        raise RecordDecodeError(f"cannot build {record_type.__name__}: {error}") from error


def _build_as_declared(namespace: str, data: dict[str, Any], expected: type) -> Any:
    """Build a record of the unregistered class ``namespace`` as its declared type ``expected``."""
    if namespace not in _warned_namespaces:
        _warned_namespaces.add(namespace)
        logger.warning(
            "Unknown record type %r (is the module defining it imported?): decoded as %s, "
            "its other fields kept as plain attributes",
            namespace,
            expected.__name__,
        )
    record = _build(expected, data, False)
    for name, value in data.items():
        if name != METADATA_KEY and not hasattr(record, name):
            setattr(record, name, value)
    return record


@functools.cache
def _field_converters(record_type: type, strict: bool) -> tuple[tuple[str, Converter | None], ...]:
    fields = record_type._options.fields  # type: ignore[attr-defined]
    return tuple(
        (
            name,
            _list_of(_converter(typing.get_args(kind)[0], strict))
            if name in _ORDERED_SET_FIELDS
            else _converter(kind, strict),
        )
        for name, kind in fields.items()
    )


def _converter(kind: Any, strict: bool) -> Converter | None:
    """How to turn decoded JSON back into a value of the declared type ``kind`` (None: as it is)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is UUID:
        return _uuid
    if isinstance(kind, type) and issubclass(kind, Record):
        return functools.partial(from_data, expected=kind, strict=strict)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in args if arg is not type(None)]
        return _converter(options[0], strict) if len(options) == 1 else _any
    if origin in (list, tuple):
        return _list_of(_converter(args[0], strict) if args else _any)
    if origin in (set, frozenset):
        return _set_of(_converter(args[0], strict) if args else _any)
    if origin is dict:
        return _dict_of(
            _converter(args[0], strict) if args else None, _converter(args[1], strict) if len(args) > 1 else _any
        )
    if isinstance(kind, typing.TypeVar) or kind is Any:
        return _any
    return None


_uuid_of = functools.lru_cache(maxsize=4096)(UUID)
"""UUIDs parsed lately: a workflow names each of its tasks' ids several times."""


def _uuid(value: Any) -> Any:
    return value if isinstance(value, UUID) else _uuid_of(value)


def _any(value: Any) -> Any:
    if isinstance(value, dict):
        if METADATA_KEY in value:
            return from_data(value)
        return {key: _any(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_any(item) for item in value]
    return value


def _list_of(convert: Converter | None) -> Converter:
    return (lambda value: [convert(item) for item in value]) if convert else list


def _set_of(convert: Converter | None) -> Converter:
    return (lambda value: {convert(item) for item in value}) if convert else set


def _dict_of(convert_key: Converter | None, convert_value: Converter | None) -> Converter:
    def convert(value: dict[Any, Any]) -> dict[Any, Any]:
        return {
            (convert_key(key) if convert_key else key): (convert_value(item) if convert_value else item)
            for key, item in value.items()
        }

    return convert
