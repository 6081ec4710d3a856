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


# -- Alsek 1.3.2 ------------------------------------------------------------------------------


def test_compression_round_trips_and_reads_both_forms() -> None:
    from alsek.storage.serialization import BinarySerializer

    big = {"text": "x" * 10_000, "n": [1, 2, 3]}
    for serializer in (JsonSerializer(compression_level=6), BinarySerializer(compression_level=6)):
        packed = serializer.forward(big)
        assert len(packed) < 1_000 and serializer.reverse(packed) == big
        assert serializer.reverse(serializer.forward(None)) is None
    assert JsonSerializer(compression_level=6).reverse(JsonSerializer().forward(big)) == big
    assert BinarySerializer().reverse(BinarySerializer().forward((1, {2}))) == (1, {2})


def test_a_serializer_written_for_alsek_1_3_2_works() -> None:
    import json

    from alsek.storage.serialization import Serializer

    class Shouting(Serializer):
        def forward_engine(self, obj):  # type: ignore[no-untyped-def]
            return json.dumps(obj)

        def encode(self, obj):  # type: ignore[no-untyped-def]
            return obj.upper()

        def decode(self, data):  # type: ignore[no-untyped-def]
            return data.lower()

        def reverse_engine(self, data):  # type: ignore[no-untyped-def]
            return json.loads(data)

    assert Shouting().forward({"a": "b"}) == '{"A": "B"}'
    assert Shouting().reverse('{"A": "B"}') == {"a": "b"}

    class Incomplete(Serializer):
        pass

    with pytest.raises(TypeError, match="must define"):
        Incomplete()
