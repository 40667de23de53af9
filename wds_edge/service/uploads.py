"""Taking an image out of an HTTP request, refusing bad ones before decoding them.

The order is what keeps a kiosk safe from large, slow or hostile uploads: the type is
checked from ``Content-Type`` (415), the size from ``Content-Length`` before a byte is
read (413), the body is read with a cap (413 as soon as a chunked body passes it) and a
deadline (408 when it trickles in too slowly), then the image format is decided from
its bytes (415 for anything but JPEG / PNG, whatever the Content-Type claimed) and its
width and height are read from its header (413 beyond the pixel limit); only then is it
decoded (400 when it cannot be).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping

import anyio

from wds_edge.errors import InvalidInputError, UnsupportedImageError
from wds_edge.io import image_size_from_header

__all__ = [
    "IMAGE_TYPES",
    "RequestError",
    "ClientGone",
    "check_content_type",
    "read_body_limited",
    "check_image_header",
    "multipart_image",
]

logger = logging.getLogger(__name__)

#: Content types ``POST /v1/analyze`` accepts as a raw body.
IMAGE_TYPES = ("image/jpeg", "image/png")
MULTIPART = "multipart/form-data"


class RequestError(InvalidInputError):
    """A request the service refuses; ``status_code`` is the HTTP status to answer with."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class ClientGone(RequestError):
    """The client closed the connection before its body arrived (nobody reads an answer)."""

    def __init__(self, received_bytes: int) -> None:
        """``received_bytes`` < 0: the whole upload came, the client left while it waited."""
        message = (
            "the client went away before its photo was analysed (nothing analysed)"
            if received_bytes < 0
            else f"the client went away after {received_bytes:,} bytes of its upload"
        )
        super().__init__(499, message)
        self.received_bytes = received_bytes


def check_content_type(content_type: str | None) -> str:
    """The media type (lower case, parameters dropped) if it is an image type or multipart.

    Raises:
        RequestError: 415 for any other type (or none).
    """
    media = (content_type or "").split(";")[0].strip().lower()
    if media in IMAGE_TYPES or media == MULTIPART:
        return media
    raise RequestError(
        415,
        f"unsupported Content-Type {content_type or '(none)'!r}: send the photo as "
        f"{' or '.join(IMAGE_TYPES)} body, or as a {MULTIPART} field named 'image'",
    )


#: What ``read_body_limited`` advises for a photo upload (its default).
PHOTO_ADVICE = "send a JPEG or PNG photo of a few MB at most"


async def read_body_limited(
    headers: Mapping[str, str],
    chunks: AsyncIterator[bytes],
    max_bytes: int,
    timeout_s: float | None = None,
    *,
    allow_empty: bool = False,
    what: str = "the upload",
    advice: str = PHOTO_ADVICE,
) -> bytes:
    """Read a request body of at most ``max_bytes`` within ``timeout_s`` seconds.

    Args:
        headers: the request headers (``content-length`` is checked first).
        chunks: the body as it arrives (Starlette's ``request.stream()``).
        max_bytes: the limit.
        timeout_s: the whole body must have arrived by then (``None``: no deadline).
        allow_empty: an empty body is valid (``b""``) instead of a 400.
        what: the body's name in the messages ("the upload", "the capture request's body").
        advice: what to send instead, ending the 413 and empty-body messages.

    Raises:
        RequestError: 413 when the declared or the received size passes the limit, 400
            for a malformed Content-Length or an empty body, 408 past the deadline.
        ClientGone: the client disconnected mid-upload.
    """
    from starlette.requests import ClientDisconnect

    parts: list[bytes] = []
    try:
        with anyio.fail_after(timeout_s):
            return await _read_body(headers, chunks, max_bytes, parts, allow_empty, what, advice)
    except TimeoutError:
        received = sum(map(len, parts))
        raise RequestError(
            408,
            f"{what} did not arrive within {timeout_s:g} s ({received:,} bytes came); "
            "send it in one go over a working connection",
        ) from None
    except ClientDisconnect:
        raise ClientGone(sum(map(len, parts))) from None


async def _read_body(
    headers: Mapping[str, str],
    chunks: AsyncIterator[bytes],
    max_bytes: int,
    parts: list[bytes],
    allow_empty: bool,
    what: str,
    advice: str,
) -> bytes:
    declared = headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise RequestError(400, f"malformed Content-Length {declared!r}") from None
        if length > max_bytes:
            raise RequestError(
                413, f"{what} is {length:,} bytes, more than the {max_bytes:,} accepted; {advice}"
            )
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise RequestError(413, f"{what} passed the {max_bytes:,} bytes accepted; {advice}")
        parts.append(chunk)
    if total == 0 and not allow_empty:
        raise RequestError(400, f"{what} is empty; {advice}")
    return b"".join(parts)


#: Image formats (decided from the bytes) that ``POST /v1/analyze`` decodes.
SERVICE_FORMATS = ("JPEG", "PNG")


def check_image_header(data: bytes, max_pixels: int, source: str) -> None:
    """Decide the format from the bytes and refuse an image the service will not decode:
    another format than JPEG / PNG, or a header declaring more than ``max_pixels`` pixels.

    Raises:
        RequestError: 415 for another format (named, with its declared size when it has
            one), 413 with the declared size, 400 for data that is no image at all.
    """
    try:
        width, height = image_size_from_header(
            data, source, max_pixels=None, formats=SERVICE_FORMATS
        )
    except UnsupportedImageError as exc:
        raise RequestError(415, str(exc)) from None
    if width * height > max_pixels:
        raise RequestError(
            413,
            f"{source}: {width}x{height} pixels is more than the {max_pixels:,} accepted; "
            "downscale the photo first",
        )


async def multipart_image(headers: Mapping[str, str], body: bytes, max_files: int = 1) -> bytes:
    """The bytes of the multipart form field ``image`` of an already size-checked body.

    Raises:
        RequestError: 400 for a malformed or cut-off form (no closing boundary) or a
            missing / empty ``image`` field, 415 when the field's own type is neither JPEG
            nor PNG.
    """
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream() -> AsyncIterator[bytes]:
        yield body
        yield b""

    parser = MultiPartParser(
        Headers(headers=dict(headers)), stream(), max_files=max_files, max_fields=16
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise RequestError(400, f"malformed multipart form: {exc}") from None
    try:
        if not _has_closing_boundary(headers, body):  # the parser takes a cut-off form
            raise RequestError(
                400,
                "the multipart form is incomplete: it ends before its closing boundary "
                "(--BOUNDARY--), so the upload was cut off; send the whole form again",
            )
        field = form.get("image")
        if not isinstance(field, UploadFile):
            raise RequestError(
                400, "the multipart form has no file field named 'image'; add one with the photo"
            )
        if field.content_type and field.content_type != "application/octet-stream":
            check_content_type(field.content_type)
            if field.content_type.split(";")[0].strip().lower() == MULTIPART:
                raise RequestError(415, "the 'image' field must be a JPEG or PNG, not a form")
        data = await field.read()
    finally:
        await form.close()
    if not data:
        raise RequestError(400, "the 'image' field is empty; attach a JPEG or PNG photo")
    return data


def _has_closing_boundary(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a multipart ``body`` holds its closing delimiter ``--BOUNDARY--`` (a body
    cut off in transit does not; the parser then returns the parts it completed)."""
    from starlette.formparsers import parse_options_header

    _, params = parse_options_header(headers.get("content-type") or "")
    boundary = params.get(b"boundary")
    if not boundary:  # the parser refuses a form without a boundary itself
        return True
    return b"--" + boundary + b"--" in body
