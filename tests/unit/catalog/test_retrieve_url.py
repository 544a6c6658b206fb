"""RetrieveURL names the port the request came in on when the Host header names none."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from medshare_catalog.api.dicomweb import service_base


def request(host: str | None, server_port: int, scheme: str = "http") -> Request:
    headers = [(b"host", host.encode())] if host is not None else []
    scope = {
        "type": "http", "scheme": scheme, "method": "GET", "path": "/dicomweb/studies",
        "root_path": "", "query_string": b"", "headers": headers,
        "server": ("127.0.0.1", server_port),
    }  # fmt: skip
    return Request(scope)


@pytest.mark.parametrize(
    ("host", "port", "scheme", "expected"),
    [
        ("127.0.0.1", 8084, "http", "http://127.0.0.1:8084"),  # Host without its port
        ("127.0.0.1:8084", 8084, "http", "http://127.0.0.1:8084"),
        ("catalog.example", 80, "http", "http://catalog.example"),  # the default port
        ("catalog.example", 443, "https", "https://catalog.example"),
        (None, 8084, "http", "http://127.0.0.1:8084"),  # no Host header at all
    ],
)
def test_retrieve_base(host: str | None, port: int, scheme: str, expected: str) -> None:
    assert service_base(request(host, port, scheme)) == expected
