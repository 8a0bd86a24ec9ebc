"""Body validation: the native fast path (jsonschema-rs) and the Python validator always agree.

The fast path only says "valid"; whenever it says no, :mod:`jsonschema` decides and phrases the
error. So the two must agree on every document, valid or not, for every schema the fake checks:
the vendor's request bodies, the admin operations' bodies, and the config options.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from mh_mock.config import OPTION_SCHEMAS
from mh_mock.contract import load_contract
from mh_mock.control.operations import OPERATIONS
from mh_mock.schema import SchemaValidator, python_dialect

jsonschema_rs = pytest.importorskip("jsonschema_rs")

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False, allow_infinity=False) | TEXT
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)

EXAMPLES: dict[str, Any] = {
    "aiVoiceGenerator.createAudio": {"style": {"prompt": "Hi", "voice_name": "Elon Musk"}, "name": "n"},
    "aiVoiceCloner.createAudio": {"assets": {"audio_file_path": "api-assets/a/b.wav"}, "style": {"prompt": "Hi"}},
    "aiMusicGenerator.createAudio": {"duration": 30, "style": {"prompt": "lofi", "instrumental": True}},
    "videoAssets.generatePresignedUrl": {"items": [{"type": "audio", "extension": "wav"}]},
}


def _schemas() -> list[tuple[str, dict[str, Any], Any]]:
    """(name, schema, a valid document) for every schema the fake validates with."""
    found = [(op, dict(load_contract().requests[op].schema), body) for op, body in EXAMPLES.items()]
    for op in OPERATIONS:
        if op.body_schema is not None:
            found.append((f"admin.{op.name}", op.body_schema, None if op.required else {}))
    found += [(f"option.{name}", dict(schema), None) for name, schema in OPTION_SCHEMAS.items()]
    return found


SCHEMAS = _schemas()


def _mutate(document: Any, path: list[Any], value: Any, drop: bool) -> Any:
    """``document`` with the node at ``path`` replaced by ``value`` (or removed)."""
    if not path:
        return value
    if isinstance(document, dict) and document:
        key = list(document)[path[0] % len(document)]
        copy = dict(document)
        if drop and len(path) == 1:
            del copy[key]
        else:
            copy[key] = _mutate(document[key], path[1:], value, drop)
        return copy
    if isinstance(document, list) and document:
        copy = list(document)
        copy[path[0] % len(copy)] = _mutate(copy[path[0] % len(copy)], path[1:], value, drop)
        return copy
    return value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(SCHEMAS) - 1),
    path=st.lists(st.integers(0, 5), max_size=3),
    value=VALUES,
    drop=st.booleans(),
    whole=st.booleans(),
)
def test_the_fast_path_and_jsonschema_agree(index: int, path: list[int], value: Any, drop: bool, whole: bool) -> None:
    name, schema, valid = SCHEMAS[index]
    document = value if whole or valid is None else _mutate(valid, path, value, drop)
    python = Draft7Validator(python_dialect(schema)).is_valid(document)
    fast = jsonschema_rs.validator_for(schema).is_valid(document)
    assert fast == python, (name, document)
    assert (SchemaValidator(schema).error(document) is None) == python, (name, document)


def test_every_example_is_valid_and_a_pattern_keeps_its_meaning() -> None:
    for name, schema, valid in SCHEMAS:
        if valid is not None:
            assert SchemaValidator(schema).is_valid(valid), name
    upload = SchemaValidator(load_contract().requests["videoAssets.generatePresignedUrl"].schema)
    assert upload.error({"items": [{"type": "audio", "extension": "wav\n"}]}) == (
        "Invalid value for items[0].extension: 'wav\\n' does not match ^[a-z0-9]+$"
    )  # Python's $ would accept the newline; the fast path and the phrased error both refuse it
