"""HTTP/1.1 with kept-alive connections, for the few fixed requests of the service's API.

The standard library's `http.client` (blocking) and asyncio streams: measured over loopback
against `breakerctl serve`, each request costs about half of what httpx adds, and there is
nothing to install. A connection that the service closed while it sat idle is noticed on the
next request, which is then sent once more on a new connection (it never reached the service).
"""

from __future__ import annotations

import asyncio
import http.client
import ssl
import threading
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlencode, urlsplit

Answer = Tuple[int, bytes]

_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Endpoint:
    """Where the service is: scheme, host, port and the path it is mounted at."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.secure else 80)
        self.prefix = parts.path.rstrip("/")
        self.host_header = parts.netloc

    def target(self, path: str, params: Optional[Dict[str, str]]) -> str:
        return self.prefix + path + ("?" + urlencode(params) if params else "")


class SyncTransport:
    """One kept-alive `http.client` connection per thread."""

    def __init__(self, base_url: str, timeout: float, headers: Dict[str, str]) -> None:
        self.endpoint = Endpoint(base_url)
        self.timeout = timeout
        self.headers = headers
        self.opened = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all: List[http.client.HTTPConnection] = []

    def _connection(self) -> Tuple[http.client.HTTPConnection, bool]:
        conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        e = self.endpoint
        conn = (
            http.client.HTTPSConnection(e.host, e.port, timeout=self.timeout)
            if e.secure
            else http.client.HTTPConnection(e.host, e.port, timeout=self.timeout)
        )
        self._local.conn = conn
        with self._lock:
            self.opened += 1
            self._all.append(conn)
        return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None

    def request(self, method: str, path: str, body: Optional[bytes] = None, params: Optional[Dict[str, str]] = None) -> Answer:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        target = self.endpoint.target(path, params)
        for attempt in range(2):
            conn, reused = self._connection()
            try:
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    self._drop(conn)
                return response.status, data
            except _STALE:
                self._drop(conn)
                if not reused or attempt == 1:
                    raise
            except BaseException:
                self._drop(conn)
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class _Stale(Exception):
    """The service closed a kept-alive connection before answering."""


class AsyncTransport:
    """Kept-alive asyncio connections: idle ones are reused, one request at a time on each."""

    def __init__(self, base_url: str, timeout: float, headers: Dict[str, str]) -> None:
        self.endpoint = Endpoint(base_url)
        self.timeout = timeout
        self.headers = headers
        self.opened = 0
        self._idle: List[Tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        # Streams belong to the event loop that opened them: a client used from another loop
        # (asyncio.run called again) starts a pool of its own there.
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    async def _open(self) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        e = self.endpoint
        context = ssl.create_default_context() if e.secure else None
        reader, writer = await asyncio.open_connection(e.host, e.port, ssl=context)
        self.opened += 1
        return reader, writer

    async def request(self, method: str, path: str, body: Optional[bytes] = None, params: Optional[Dict[str, str]] = None) -> Answer:
        head = f"{method} {self.endpoint.target(path, params)} HTTP/1.1\r\nHost: {self.endpoint.host_header}\r\n"
        for name, value in self.headers.items():
            head += f"{name}: {value}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        message = (head + "\r\n").encode("latin-1") + (body or b"")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._idle.clear()
            self._loop = loop
        for attempt in range(2):
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await asyncio.wait_for(self._open(), self.timeout)
            try:
                status, data, keep = await asyncio.wait_for(self._exchange(conn, message), self.timeout)
            except _Stale:
                conn[1].close()
                if not reused or attempt == 1:
                    raise ConnectionResetError("the service closed the connection without answering")
                continue
            except BaseException:
                conn[1].close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn[1].close()
            return status, data
        raise AssertionError("unreachable")

    @staticmethod
    async def _exchange(conn: Tuple[asyncio.StreamReader, asyncio.StreamWriter], message: bytes) -> Tuple[int, bytes, bool]:
        reader, writer = conn
        try:
            writer.write(message)
            await writer.drain()
            status_line = await reader.readline()
        except (ConnectionResetError, BrokenPipeError) as e:
            raise _Stale() from e
        if not status_line:
            raise _Stale()
        status = int(status_line.split(b" ", 2)[1])
        headers: Dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = headers.get("connection", "").lower() != "close"
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0].strip(), 16)
                if size == 0:
                    await reader.readline()
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            return status, b"".join(chunks), keep
        if "content-length" in headers:
            return status, await reader.readexactly(int(headers["content-length"])), keep
        return status, await reader.read(), False

    async def aclose(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()
