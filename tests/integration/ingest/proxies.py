"""TCP proxies in front of the shared servers, closed and reopened to simulate an outage.

The shared Kafka and S3 servers must keep running for everyone else, so a test
points the ingest app at a proxy instead and "stops the broker" by closing it:
listening ends and every open connection drops; reopening listens on the same port.

Kafka clients connect to the address the broker *advertises*, not to the bootstrap
address, so the Kafka proxy rewrites that address (127.0.0.1:<broker port>) to its
own in every response frame. Host and port keep their byte length, so frames keep
their size; the pattern (length-prefixed host then a big-endian int32 port) only
occurs where the protocol lists brokers (Metadata, FindCoordinator).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int, listen_port: int = 0):
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = listen_port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def open(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """An outage: stop listening and cut every connection."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            client.transport.abort()
            return
        self.connections += 1
        self.writers |= {client, upstream}
        tasks = [
            asyncio.create_task(self._copy(client_reader, upstream)),
            asyncio.create_task(self._responses(upstream_reader, client)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client, upstream):
                writer.transport.abort()
                self.writers.discard(writer)

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()

    async def _responses(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._copy(reader, writer)


class KafkaProxy(TcpProxy):
    """A TCP proxy that also makes Kafka clients keep talking through it."""

    def _patterns(self) -> list[tuple[bytes, bytes]]:
        host = self.upstream_host.encode()
        old_port, new_port = struct.pack(">i", self.upstream_port), struct.pack(">i", self.port)
        length = struct.pack(">h", len(host))  # STRING
        compact = bytes([len(host) + 1])  # COMPACT_STRING (flexible versions)
        return [
            (length + host + old_port, length + host + new_port),
            (compact + host + old_port, compact + host + new_port),
        ]

    async def _responses(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        patterns = self._patterns()
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                size = await reader.readexactly(4)
                frame = await reader.readexactly(struct.unpack(">i", size)[0])
                for old, new in patterns:
                    frame = frame.replace(old, new)
                writer.write(size + frame)
                await writer.drain()
