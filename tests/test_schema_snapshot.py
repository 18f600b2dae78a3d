"""The checked-in schema.graphql matches the code."""

from __future__ import annotations

from pathlib import Path

from api.schema import schema_sdl

SNAPSHOT = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_snapshot_is_current() -> None:
    assert SNAPSHOT.read_text() == schema_sdl(), (
        "schema.graphql differs from the code's schema: run `make schema` and commit it"
    )
