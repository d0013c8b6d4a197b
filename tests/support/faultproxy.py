"""A fault-injecting loopback HTTP proxy between boto3 and the sandbox: a user's real network, in a test.

The sandbox's own faults (`SandboxControl.fault`) are well-formed AWS errors: AWS answered, and said
no. On a real network the worst failures are below that: the reply to a call AWS already accepted
is slow (botocore's read timeout fires, yet the ModifyDBInstance was applied), or lost, or the
connection is reset; a corporate proxy or load balancer answers with an HTML page; a reply arrives
garbled. These decide whether rdsca's retries are safe (a retried write may be a second write) and
whether one bad region is reported as a failed target rather than a crash. `FaultProxy` forwards
each request to the sandbox and, for calls a `Rule` matches, produces one of those faults; its log
says which calls really reached the upstream. Replies pass byte for byte, except the hop-by-hop
`Connection` header (see `_forward`), so that botocore keeps its connections alive as with AWS.

    with FaultProxy(sandbox.url) as proxy:
        proxy.add(delay_reply(1.5, action="ModifyDBInstance"))
        boto3.client("rds", endpoint_url=proxy.url, ...)
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import struct
import threading
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

FORWARDING = {
    "pass", "delay_reply", "drop_reply", "hang_reply", "reset_reply", "garbage_reply", "foreign_page"
}  # fmt: skip
KINDS = (FORWARDING - {"pass"}) | {"reset_before", "html_error"}
MAX_HEAD = 1 << 20


@dataclass
class Rule:
    """Apply `kind` to calls of `action` ('*': any) in `region` (None: any); `count` None: always."""

    kind: str
    action: str = "*"
    region: str | None = None
    count: int | None = None
    seconds: float = 0.0
    status: int = 502
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(sorted(KINDS))}")

    def matches(self, action: str, region: str | None) -> bool:
        return (
            self.action in ("*", action)
            and self.region in (None, region)
            and (self.count is None or self.fired < self.count)
        )


def delay_reply(
    seconds: float, action: str = "*", region: str | None = None, count: int | None = None
) -> Rule:
    """Forward; hold the reply `seconds` (AWS accepted it, the reply is slow)."""
    return Rule("delay_reply", action, region, count, seconds=seconds)


def drop_reply(action: str = "*", region: str | None = None, count: int | None = None) -> Rule:
    """Forward; close the connection without a byte of reply (lost reply after acceptance)."""
    return Rule("drop_reply", action, region, count)


def hang_reply(action: str = "*", region: str | None = None, count: int | None = None) -> Rule:
    """Forward; never reply, and keep the connection open until the client gives up on it (its read
    timeout) or the proxy stops: a reply lost in a black hole (a stateful firewall dropping it)."""
    return Rule("hang_reply", action, region, count)


def reset_reply(action: str = "*", region: str | None = None, count: int | None = None) -> Rule:
    """Forward; reset the connection (TCP RST) instead of replying."""
    return Rule("reset_reply", action, region, count)


def reset_before(action: str = "*", region: str | None = None, count: int | None = None) -> Rule:
    """Do not forward; reset the connection (the request never reached AWS)."""
    return Rule("reset_before", action, region, count)


def html_error(
    status: int = 502, action: str = "*", region: str | None = None, count: int | None = None
) -> Rule:
    """Do not forward; answer with an HTML error page, as a corporate proxy or load balancer does."""
    return Rule("html_error", action, region, count, status=status)


def garbage_reply(action: str = "*", region: str | None = None, count: int | None = None) -> Rule:
    """Forward; answer 200 with the first half of the upstream's body (a truncated reply)."""
    return Rule("garbage_reply", action, region, count)


def foreign_page(action: str = "*", region: str | None = None, count: int | None = None) -> Rule:
    """Forward; answer 200 with well-formed XML that is no AWS response (a captive portal's sign-in
    page): botocore's query parser raises KeyError on it, not ResponseParserError."""
    return Rule("foreign_page", action, region, count)


FOREIGN_PAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
    b"<head><title>Sign in</title></head><body><p>Sign in to continue.</p></body></html>"
)


@dataclass(frozen=True)
class Seen:
    action: str
    region: str | None
    kind: str  # the rule applied, or 'pass'
    upstream_status: int | None  # None: the request never reached the upstream


class _Stream:
    """Buffered reads of raw HTTP/1.1 messages from a socket; None when the peer closed early."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def until(self, marker: bytes) -> bytes | None:
        while (i := self.buf.find(marker)) < 0:
            if len(self.buf) > MAX_HEAD or not self._fill():
                return None
        out, self.buf = self.buf[: i + len(marker)], self.buf[i + len(marker) :]
        return out

    def exact(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if not self._fill():
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self) -> bytes:
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out

    def body(self, headers: dict[str, str]) -> bytes | None:
        """The raw body after a head: by Content-Length or chunked (kept as chunks)."""
        if "chunked" not in headers.get("transfer-encoding", "").lower():
            return self.exact(int(headers.get("content-length", "0")))
        out = b""
        while (line := self.until(b"\r\n")) is not None:
            out += line
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while (trailer := self.until(b"\r\n")) not in (None, b"\r\n"):
                    out += trailer
                return None if trailer is None else out + trailer
            if (chunk := self.exact(size + 2)) is None:
                return None
            out += chunk
        return None


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def identify(start: str, headers: dict[str, str], body: bytes) -> tuple[str, str | None]:
    """(action, region): from X-Amz-Target or the form's `Action=`, and the SigV4 credential scope."""
    method, target = [*start.split(" "), "", ""][:2]
    action = headers.get("x-amz-target", "").rsplit(".", 1)[-1]
    if not action:
        form = parse_qs(body.decode("utf-8", "replace")) | parse_qs(urlsplit(target).query)
        action = (form.get("Action") or [f"{method} {urlsplit(target).path}"])[0]
    scope = headers.get("authorization", "").partition("Credential=")[2].split(",")[0].split("/")
    return action, scope[2] if len(scope) > 2 else None


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _html(status: int) -> bytes:
    title = f"{status} {HTTPStatus(status).phrase}"
    body = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    body += "<hr><center>corporate-proxy</center>\r\n</body>\r\n</html>\r\n"
    head = f"HTTP/1.1 {title}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    return (head + body).encode()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    # Connections not yet accepted: socketserver's default is 5, and an audit opens dozens at once.
    # Past the queue the kernel drops the handshake's last packet (TcpExtListenOverflows grew) and
    # the connection stalls: 150 at once to a listen(5) proxy, up to 81 got no reply in 20 s; none
    # with 256. With 5, a failing region's target once gave ConnectionClosedError for its reason.
    request_queue_size = 256
    proxy: FaultProxy


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.proxy._serve(self.request)


class FaultProxy:
    """Listens on 127.0.0.1 (a free port), forwards to `upstream_url`, applies the first matching rule."""

    def __init__(self, upstream_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.timeout = timeout
        self.rules: list[Rule] = []
        self.log: list[Seen] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._clients: set[socket.socket] = set()
        self.connections = 0  # client connections accepted (keep-alive: fewer than calls)
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fault proxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="faultproxy", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            for sock in self._clients:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forget the rules and the log."""
        with self._lock:
            self.rules.clear()
            self.log.clear()

    def calls(self, action: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.log if action in (None, s.action)]

    def count(self, action: str, forwarded_only: bool = True) -> int:
        """How many calls of `action` were seen; by default only those that reached the upstream."""
        return sum(1 for s in self.calls(action) if not forwarded_only or s.upstream_status is not None)

    def _match(self, action: str, region: str | None) -> Rule | None:
        with self._lock:
            rule = next((r for r in self.rules if r.matches(action, region)), None)
            if rule is not None:
                rule.fired += 1
            return rule

    def _record(self, action: str, region: str | None, kind: str, status: int | None) -> None:
        with self._lock:
            self.log.append(Seen(action, region, kind, status))

    def _forward(self, head: bytes, body: bytes, method: str) -> tuple[int, bytes, bytes, bool]:
        """Send one raw request upstream: (status, raw head, raw body, the client's connection must close)."""
        with socket.create_connection(self.upstream, timeout=self.timeout) as up:
            up.sendall(head + body)
            stream = _Stream(up)
            reply = stream.until(b"\r\n\r\n")
            if reply is None:
                raise ConnectionError("the upstream closed without a reply")
            start, headers = _parse_head(reply)
            status = int(start.split(" ")[1])
            framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")
            if method == "HEAD" or status in (204, 304) or status < 200:
                data: bytes | None = b""
            else:
                data = stream.body(headers) if framed else stream.rest()
            if data is None:
                raise ConnectionError("the upstream closed mid-reply")
            if not framed:  # delimited by the close: the client's connection must close too
                return status, reply, data, True
            # `Connection` is hop-by-hop (RFC 9110 7.6.1): the sandbox closes after every reply, AWS
            # keeps connections alive; drop it, so that botocore reuses its connection to us, as with AWS.
            lines = reply.split(b"\r\n")
            kept = [line for line in lines if not line.lower().startswith(b"connection:")]
            return status, b"\r\n".join(kept), data, False

    def _hold(self, client: socket.socket) -> None:
        """Send nothing; return once the client closed its end (or the proxy stops)."""
        while not self._stopped.is_set():
            ready, _, _ = select.select([client], [], [], 0.05)
            if ready and not client.recv(65536):
                break
        client.close()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(self.timeout)
        with self._lock:
            self._clients.add(client)
            self.connections += 1
        try:
            self._loop(client)
        except (OSError, ValueError, IndexError):
            pass  # the client went away, or sent something that is not HTTP: end this connection
        finally:
            with self._lock:
                self._clients.discard(client)

    def _loop(self, client: socket.socket) -> None:
        stream = _Stream(client)
        while not self._stopped.is_set():
            head = stream.until(b"\r\n\r\n")
            start, headers = _parse_head(head or b"")
            body = stream.body(headers) if head is not None else None
            if head is None or body is None:
                return
            action, region = identify(start, headers, body)
            rule = self._match(action, region)
            kind = rule.kind if rule is not None else "pass"
            if kind == "reset_before":
                self._record(action, region, kind, None)
                return _reset(client)
            if rule is not None and kind == "html_error":
                self._record(action, region, kind, None)
                client.sendall(_html(rule.status))
                continue
            try:
                status, reply_head, reply_body, closes = self._forward(head, body, start.split(" ")[0])
            except OSError:
                self._record(action, region, kind, None)
                return client.close()
            self._record(action, region, kind, status)
            if kind == "drop_reply":
                return client.close()
            if kind == "hang_reply":
                return self._hold(client)
            if kind == "reset_reply":
                return _reset(client)
            if rule is not None and kind == "delay_reply" and self._stopped.wait(rule.seconds):
                return
            if kind == "garbage_reply":
                garbled = reply_body[: len(reply_body) // 2] or b"\x00<html"
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(garbled) + garbled)
            elif kind == "foreign_page":
                head_out = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
                client.sendall(head_out % len(FOREIGN_PAGE) + FOREIGN_PAGE)
            else:
                client.sendall(reply_head + reply_body)
            if closes or headers.get("connection", "").lower() == "close":
                return
