"""The body of a STOW-RS request: a multipart/related message of application/dicom parts."""

from __future__ import annotations

import re
from typing import Literal


class MultipartError(ValueError):
    """The body is not a well-formed multipart/related message.

    `unsupported`: the media type (or the parts' type) is not one STOW-RS takes (415);
    `malformed`: the body does not follow the declared framing (400).
    """

    def __init__(self, message: str, kind: Literal["unsupported", "malformed"]) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def http_status(self) -> int:
        return 415 if self.kind == "unsupported" else 400


_PARAM = re.compile(r';\s*([A-Za-z0-9_-]+)\s*=\s*("([^"]*)"|[^;]*)')


def content_type_params(header: str) -> tuple[str, dict[str, str]]:
    media_type = header.split(";", 1)[0].strip().lower()
    params = {
        match.group(1).lower(): (
            match.group(3) if match.group(3) is not None else match.group(2)
        ).strip()
        for match in _PARAM.finditer(header)
    }
    return media_type, params


def multipart_boundary(content_type: str) -> str:
    """The boundary of a STOW-RS request, or `MultipartError` for any other media type."""
    media_type, params = content_type_params(content_type)
    if media_type != "multipart/related":
        raise MultipartError(
            'expected Content-Type multipart/related; type="application/dicom"', "unsupported"
        )
    part_type = params.get("type", "application/dicom").lower()
    if part_type != "application/dicom":
        raise MultipartError(
            f'unsupported multipart type "{part_type[:64]}" (need application/dicom)',
            "unsupported",
        )
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("multipart/related without a boundary parameter", "malformed")
    return boundary


def split_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related body as (headers, payload) pairs."""
    delimiter = b"--" + multipart_boundary(content_type).encode()
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise MultipartError("no parts found for the given boundary", "malformed")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, payload = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise MultipartError("a part has no header/body separator", "malformed")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, payload.removesuffix(b"\r\n")))
    return parts
