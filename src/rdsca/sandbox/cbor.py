"""The CBOR subset AWS's Smithy RPC v2 CBOR protocol uses (RFC 8949), for the sandbox's Health API.

botocore talks `smithy-rpc-v2-cbor` to services whose model lists it first (AWS Health does); older
botocore versions talk JSON to the same service. The sandbox answers both, so it reads and writes
the few CBOR types those requests and answers carry: integers, byte and text strings, arrays, maps,
booleans, null, floats, and timestamps (tag 1, seconds since the epoch: "Smithy RPC v2 CBOR
protocol", Smithy 2.0 specification, "Timestamp type serialization").
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

_BREAK = object()


class CborError(ValueError):
    pass


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if value < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, value)
    raise CborError(f"integer too large for CBOR: {value}")


def dumps(value: Any) -> bytes:
    """Encode `value`; datetimes become tag 1 (epoch seconds, a float)."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return b"\xc1" + dumps(stamp.timestamp())
    if isinstance(value, list | tuple):
        return _head(4, len(value)) + b"".join(dumps(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(dumps(str(k)) + dumps(v) for k, v in value.items())
    raise CborError(f"cannot encode {type(value).__name__} as CBOR")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CborError("truncated CBOR data")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def argument(self, info: int) -> int | None:
        if info < 24:
            return info
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info in sizes:
            return int.from_bytes(self.take(sizes[info]), "big")
        if info == 31:
            return None  # indefinite length
        raise CborError(f"reserved CBOR additional information {info}")

    def item(self) -> Any:
        first = self.take(1)[0]
        major, info = first >> 5, first & 0x1F
        if major == 7:
            return self._simple(info)
        arg = self.argument(info)
        if major == 0:
            return arg
        if major == 1:
            return -1 - (arg or 0)
        if major in (2, 3):
            raw = self.take(arg) if arg is not None else self._chunks(major)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            return self._array(arg)
        if major == 5:
            return self._map(arg)
        value = self.item()  # major 6: a tag
        if arg == 1:
            return datetime.fromtimestamp(float(value), UTC)
        return value

    def _simple(self, info: int) -> Any:
        simple = {20: False, 21: True, 22: None, 23: None, 31: _BREAK}
        if info in simple:
            return simple[info]
        if info == 25:
            return struct.unpack(">e", self.take(2))[0]
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        raise CborError(f"unsupported CBOR simple value {info}")

    def _chunks(self, major: int) -> bytes:
        out = b""
        while True:
            chunk = self.item()
            if chunk is _BREAK:
                return out
            out += chunk if major == 2 else chunk.encode("utf-8")

    def _array(self, n: int | None) -> list[Any]:
        if n is not None:
            return [self.item() for _ in range(n)]
        out: list[Any] = []
        while (value := self.item()) is not _BREAK:
            out.append(value)
        return out

    def _map(self, n: int | None) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        count = 0
        while n is None or count < n:
            key = self.item()
            if key is _BREAK:
                break
            out[key] = self.item()
            count += 1
        return out


def loads(data: bytes) -> Any:
    """Decode one CBOR data item (an empty body is an empty map, as for a request without input)."""
    if not data:
        return {}
    return _Reader(data).item()
