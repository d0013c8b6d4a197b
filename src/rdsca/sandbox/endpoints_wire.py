"""The server side of the bytes before (and just after) TLS, on blocking sockets.

PostgreSQL: answer `S` to the SSLRequest (`N` to a GSSENCRequest, then wait for the SSLRequest);
refuse a plaintext startup like a server with `rds.force_ssl`. MySQL / MariaDB: send a protocol-10
greeting with CLIENT_SSL, read the client's SSLRequest; refuse a plaintext login like
`require_secure_transport=ON`. After the handshake the endpoint reads the client's first message and
answers with an error: there is no database behind it. Reads take exactly the bytes asked for, so
a TLS ClientHello sent right behind the SSLRequest stays in the socket for the handshake.
"""

from __future__ import annotations

import os
import socket
import struct

PG_SSL_REQUEST = 80877103
PG_GSSENC_REQUEST = 80877104
MAX_MESSAGE = 64 * 1024
CLIENT_SSL = 0x0800
SERVER_CAPABILITIES = (
    0x0001  # LONG_PASSWORD
    | 0x0004  # LONG_FLAG
    | 0x0008  # CONNECT_WITH_DB
    | 0x0200  # PROTOCOL_41
    | CLIENT_SSL
    | 0x2000  # TRANSACTIONS
    | 0x8000  # SECURE_CONNECTION
    | 0x00080000  # PLUGIN_AUTH
)
NO_DATABASE = "rdsca sandbox: a TLS endpoint only, there is no database behind it"


class Closed(Exception):
    """The client went away (or sent something no server would read)."""


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise Closed("the client closed the connection")
        buf += chunk
    return buf


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_error(code: str, message: str) -> bytes:
    fields = b"".join(tag + value.encode() + b"\0" for tag, value in (
        (b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message)
    ))  # fmt: skip
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def postgres_accept(sock: socket.socket) -> bool:
    """True once the client asked for TLS and got `S`; False after refusing a plaintext startup."""
    for _ in range(2):  # a GSSENCRequest first, then the SSLRequest (libpq with gssencmode=prefer)
        length, code = struct.unpack("!ii", recv_exact(sock, 8))
        if length == 8 and code == PG_SSL_REQUEST:
            sock.sendall(b"S")
            return True
        if length == 8 and code == PG_GSSENC_REQUEST:
            sock.sendall(b"N")
            continue
        if not 8 < length <= MAX_MESSAGE:
            raise Closed(f"not a PostgreSQL startup packet (length {length})")
        recv_exact(sock, length - 8)
        sock.sendall(pg_error("28000", "no pg_hba.conf entry: this endpoint accepts TLS connections only"))
        return False
    return False


def postgres_after_tls(tls: socket.socket) -> None:
    (length,) = struct.unpack("!i", recv_exact(tls, 4))
    if not 8 <= length <= MAX_MESSAGE:
        raise Closed("not a PostgreSQL startup message")
    recv_exact(tls, length - 4)
    tls.sendall(pg_error("08004", NO_DATABASE))


# --- MySQL / MariaDB ----------------------------------------------------------------------------


def mysql_server_version(engine: str, version: str) -> str:
    """What the greeting says: MariaDB's compatibility prefix included, as real servers send it."""
    if engine == "mariadb":
        return f"5.5.5-{version}-MariaDB"
    return version


def mysql_greeting(server_version: str, connection_id: int) -> bytes:
    salt = os.urandom(20)
    payload = (
        b"\x0a"
        + server_version.encode("ascii", "replace")
        + b"\0"
        + struct.pack("<I", connection_id & 0xFFFFFFFF)
        + salt[:8]
        + b"\0"
        + struct.pack("<H", SERVER_CAPABILITIES & 0xFFFF)
        + bytes([255])  # utf8mb4_0900_ai_ci
        + struct.pack("<H", 0x0002)  # SERVER_STATUS_AUTOCOMMIT
        + struct.pack("<H", SERVER_CAPABILITIES >> 16)
        + bytes([21])
        + bytes(10)
        + salt[8:]
        + b"\0"
        + b"mysql_native_password\0"
    )
    return _mysql_packet(0, payload)


def mysql_error(sequence: int, code: int, message: str) -> bytes:
    return _mysql_packet(sequence, b"\xff" + struct.pack("<H", code) + b"#HY000" + message.encode())


def _mysql_packet(sequence: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([sequence & 0xFF]) + payload


def _mysql_read(sock: socket.socket) -> tuple[int, bytes]:
    header = recv_exact(sock, 4)
    length = int.from_bytes(header[:3], "little")
    if length > MAX_MESSAGE:
        raise Closed("not a MySQL client packet")
    return header[3], recv_exact(sock, length)


def mysql_accept(sock: socket.socket, server_version: str, connection_id: int) -> bool:
    """True once the client sent the SSLRequest; False after refusing a plaintext login."""
    sock.sendall(mysql_greeting(server_version, connection_id))
    sequence, body = _mysql_read(sock)
    capabilities = int.from_bytes(body[:4], "little") if len(body) >= 4 else 0
    if capabilities & CLIENT_SSL:
        return True
    message = "Connections using insecure transport are prohibited while --require_secure_transport=ON."
    sock.sendall(mysql_error(sequence + 1, 3159, message))
    return False


def mysql_after_tls(tls: socket.socket) -> None:
    sequence, _ = _mysql_read(tls)
    tls.sendall(mysql_error(sequence + 1, 1105, NO_DATABASE))
