"""Deny by default (CONVENTIONS §3): every root field and every list or connection field
with a resolver declares its permission policy; a field added without one fails here.
(Plain attributes are data their parent's declared field already loaded.)"""

from __future__ import annotations

from strawberry.permission import PermissionExtension
from strawberry.types.base import StrawberryList, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.field import StrawberryField

from api.schema import build_schema
from api.schema.connections import CountedConnection
from api.settings import Settings


def _unwrapped(field_type: object) -> object:
    while isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    return field_type


def _is_list_like(field: StrawberryField) -> bool:
    field_type = _unwrapped(field.type)
    return isinstance(field_type, StrawberryList) or (
        isinstance(field_type, type) and issubclass(field_type, CountedConnection)
    )


def _fields_needing_policy() -> list[tuple[str, StrawberryField]]:
    schema = build_schema(Settings())
    found = []
    for name in schema._schema.type_map:
        definition = schema.get_type_by_name(name)
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_input:
            continue
        for field in definition.fields:
            resolved = field.base_resolver is not None  # plain attributes come with their parent
            if name in {"Query", "Mutation"} or (resolved and _is_list_like(field)):
                found.append((f"{name}.{field.python_name}", field))
    return found


def test_every_root_and_list_field_declares_a_policy() -> None:
    fields = _fields_needing_policy()
    missing = [
        name
        for name, field in fields
        if not any(isinstance(ext, PermissionExtension) for ext in field.extensions)
    ]
    assert len(fields) > 5
    assert missing == [], f"fields without a declared permission policy: {missing}"
