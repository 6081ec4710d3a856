"""JsonSerializer keeps the serializer contract with orjson and with the standard library."""

from __future__ import annotations

import pytest

import alsek.adapters.serialization.json as json_module
from alsek.adapters.serialization.json import JsonSerializer
from tests.contract.serializer_contract import SerializerContract


class TestJsonSerializerWithOrjson(SerializerContract):
    @pytest.fixture
    def serializer(self) -> JsonSerializer:
        if json_module.orjson is None:  # pragma: no cover - orjson is a test dependency
            pytest.fail("orjson is not installed")
        return JsonSerializer()


class TestJsonSerializerWithTheStandardLibrary(SerializerContract):
    @pytest.fixture
    def serializer(self, monkeypatch: pytest.MonkeyPatch) -> JsonSerializer:
        monkeypatch.setattr(json_module, "orjson", None)
        return JsonSerializer()


def test_both_paths_write_the_same_json() -> None:
    value = {"a": [1, 2.5, None, "ü"], "b": {"c": True}, "n": float("nan")}
    with_orjson = JsonSerializer().forward(value)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_module, "orjson", None)
        standard = JsonSerializer().forward(value)
    assert json_module.json.loads(with_orjson) == json_module.json.loads(standard)
    assert b"NaN" not in with_orjson and "NaN" not in str(standard)
