"""The bytes on the wire before TLS starts: PostgreSQL SSLRequest, MySQL greeting + SSLRequest.

Each helper works against a deadline and ends every failure as `ProbeStop(outcome, message)`;
`probe.py` turns those into results.
"""

from __future__ import annotations

import enum
import socket
import struct
import time

_PG_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_CLIENT_SSL = 0x0800
_CLIENT_PROTOCOL_41 = 0x0200
_CLIENT_SECURE_CONNECTION = 0x8000
_CLIENT_LONG_PASSWORD = 0x0001


class Protocol(enum.StrEnum):
    POSTGRES = "postgres"
    MYSQL = "mysql"
    TLS = "tls"


class Outcome(enum.StrEnum):
    TLS = "tls"  # TLS handshake done, chain read
    NO_TLS = "no-tls"  # the server answered and said it does not offer TLS
    NOT_SERVER = "not-server"  # the answer is not the protocol asked for
    SERVER_ERROR = "server-error"  # the server answered with an error message
    CLOSED = "closed"  # the server closed the connection without answering
    TLS_FAILED = "tls-failed"  # the server accepted TLS but the handshake failed
    TIMEOUT = "timeout"
    REFUSED = "refused"  # nothing listens on that port
    UNREACHABLE = "unreachable"  # name does not resolve, no route, ...


class ProbeStop(Exception):
    def __init__(self, outcome: Outcome, message: str, server_info: str | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.server_info = server_info


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def recv_exact(sock: socket.socket, n: int, deadline: float, waiting_for: str) -> bytes:
    buf = b""
    while len(buf) < n:
        try:
            sock.settimeout(remaining(deadline))
            chunk = sock.recv(n - len(buf))
        except TimeoutError as exc:
            raise ProbeStop(Outcome.TIMEOUT, f"timed out waiting for {waiting_for}") from exc
        except OSError as exc:
            raise ProbeStop(
                Outcome.CLOSED, f"the server closed the connection (reset) without {waiting_for}"
            ) from exc
        if not chunk:
            if buf:
                raise ProbeStop(Outcome.NOT_SERVER, f"the server closed the connection in {waiting_for}")
            raise ProbeStop(Outcome.CLOSED, f"the server closed the connection without {waiting_for}")
        buf += chunk
    return buf


def send(sock: socket.socket, data: bytes, deadline: float) -> None:
    try:
        sock.settimeout(remaining(deadline))
        sock.sendall(data)
    except TimeoutError as exc:
        raise ProbeStop(Outcome.TIMEOUT, "timed out sending the TLS request") from exc
    except OSError as exc:
        raise ProbeStop(Outcome.CLOSED, "the server closed the connection at once") from exc


def postgres_preamble(sock: socket.socket, deadline: float) -> None:
    send(sock, _PG_SSL_REQUEST, deadline)
    answer = recv_exact(sock, 1, deadline, "an answer to the SSLRequest")
    if answer == b"S":
        return
    if answer == b"N":
        raise ProbeStop(Outcome.NO_TLS, "no TLS: the PostgreSQL server answered N (ssl = off)")
    if answer == b"E":
        raise ProbeStop(Outcome.SERVER_ERROR, "the PostgreSQL server answered the SSLRequest with an error")
    raise ProbeStop(Outcome.NOT_SERVER, f"not a PostgreSQL server: it answered {answer!r} to the SSLRequest")


def mysql_preamble(sock: socket.socket, deadline: float) -> str:
    header = recv_exact(sock, 4, deadline, "the MySQL server greeting")
    length, seq = int.from_bytes(header[:3], "little"), header[3]
    if seq != 0 or not 10 <= length <= 4096:
        raise ProbeStop(Outcome.NOT_SERVER, f"not a MySQL server: it sent {header!r} as greeting header")
    payload = recv_exact(sock, length, deadline, "the MySQL server greeting")
    if payload[0] == 0xFF:
        text = payload[9:].decode("utf-8", "replace") if len(payload) > 9 else ""
        raise ProbeStop(Outcome.SERVER_ERROR, f"the MySQL server refused us: {text or 'error packet'}")
    if payload[0] != 10 or b"\x00" not in payload[1:]:
        raise ProbeStop(Outcome.NOT_SERVER, "not a MySQL server: the greeting is not protocol 10")
    version_end = payload.index(b"\x00", 1)
    version = payload[1:version_end].decode("ascii", "replace")
    caps_at = version_end + 1 + 4 + 8 + 1
    if len(payload) < caps_at + 2:
        raise ProbeStop(Outcome.NOT_SERVER, "not a MySQL server: the greeting is too short")
    caps = int.from_bytes(payload[caps_at : caps_at + 2], "little")
    if not caps & _CLIENT_SSL:
        raise ProbeStop(Outcome.NO_TLS, f"no TLS: {version} does not offer SSL (CLIENT_SSL unset)", version)
    flags = _CLIENT_SSL | _CLIENT_PROTOCOL_41 | _CLIENT_SECURE_CONNECTION | _CLIENT_LONG_PASSWORD
    body = struct.pack("<IIB", flags, 16 * 1024 * 1024, 33) + bytes(23)
    send(sock, len(body).to_bytes(3, "little") + b"\x01" + body, deadline)
    return version
