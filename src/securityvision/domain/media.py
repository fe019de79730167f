"""Images the system keeps and serves (floor plans now, incident snapshots next): what is
accepted, and under which name it is kept.

Only real raster images are accepted, recognised by their own bytes — never by the file
name or content type a client announces. The checks read headers only (no decoder runs on
untrusted data), so they are pure code: PNG ``IHDR``, JPEG ``SOFn``, WebP ``VP8``/``VP8L``/
``VP8X`` give the declared size, which bounds what any later decoder would allocate.
"""

import hashlib
import re
from enum import StrEnum

import msgspec

from securityvision.domain.errors import InvalidInput

# Declared pixels above this are refused: a 100000 x 100000 PNG is a few KiB on the wire and
# 40 GB once decoded (a decompression bomb). 40 MP still fits an A0 plan scanned at 200 dpi.
MAX_IMAGE_PIXELS = 40_000_000

# Markup that would turn an image into a page if anything ever sniffed it as one. Browsers
# sniff the start of a response; other tools (and appended payloads) look at the end.
_MARKUP = (b"<html", b"<script", b"<svg", b"<?xml", b"<!doctype", b"<body", b"<iframe")
_MARKUP_WINDOW = 4096

_SHA256_NAME = re.compile(r"^([0-9a-f]{64})\.([a-z]+)$")


class MediaKind(StrEnum):
    """The folders media is kept in, each also a segment of its public ``/media/`` path."""

    FLOOR_PLANS = "floor_plans"
    INCIDENTS = "incidents"


class ImageType(StrEnum):
    PNG = "png"
    JPEG = "jpg"
    WEBP = "webp"

    @property
    def extension(self) -> str:
        return self.value

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    @classmethod
    def from_extension(cls, extension: str) -> "ImageType | None":
        return next((t for t in cls if t.value == extension), None)


_CONTENT_TYPES = {
    ImageType.PNG: "image/png",
    ImageType.JPEG: "image/jpeg",
    ImageType.WEBP: "image/webp",
}


class CheckedImage(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes that passed ``check_image``: the only thing a media store accepts."""

    data: bytes
    type: ImageType
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_name(self) -> str:
        """Named by content, never by anything the sender chose: the same image is one file,
        and nobody can guess the name of an image they have not seen."""
        return f"{self.sha256}.{self.type.extension}"


class StoredMedia(msgspec.Struct, frozen=True, kw_only=True):
    kind: MediaKind
    file_name: str
    content_type: str
    size: int

    @property
    def url(self) -> str:
        """The public path, as the original wrote it (``/media/floor_plans/...``): the front
        end prefixes its backend origin to anything that starts with ``/media/``."""
        return media_url(self.kind, self.file_name)


class MediaFile(msgspec.Struct, frozen=True, kw_only=True):
    """A stored image read back to be served."""

    data: bytes
    type: ImageType


def media_url(kind: MediaKind, file_name: str) -> str:
    return f"/media/{kind.value}/{file_name}"


def parse_media_name(kind: str, file_name: str) -> tuple[MediaKind, ImageType] | None:
    """The folder and type of a name this system could have stored (``<sha256>.<ext>`` in a
    known folder), or None for anything else — so no request can name another file."""
    folder = next((k for k in MediaKind if k.value == kind), None)
    match = _SHA256_NAME.match(file_name)
    if folder is None or match is None:
        return None
    image_type = ImageType.from_extension(match[2])
    return None if image_type is None else (folder, image_type)


def check_image(data: bytes, *, max_bytes: int, max_pixels: int = MAX_IMAGE_PIXELS) -> CheckedImage:
    """Accept ``data`` only if it is a PNG, JPEG or WebP image of at most ``max_bytes`` and
    ``max_pixels`` whose header can be read, with no markup at either end.

    - Empty: ``empty_file``. Too large: ``image_too_large``.
    - Anything else (SVG, HTML, GIF, PDF, ...): ``unsupported_image_type``.
    - A truncated or inconsistent header: ``unreadable_image``.
    - Declared size over the pixel limit (a decompression bomb): ``image_too_many_pixels``.
    - Markup in the first or last 4 KiB (a polyglot): ``image_contains_markup``.
    """
    if not data:
        raise InvalidInput("the file is empty", code="empty_file")
    if len(data) > max_bytes:
        raise InvalidInput(f"the image is larger than {max_bytes} bytes", code="image_too_large")
    image_type = sniff_image_type(data)
    if image_type is None:
        raise InvalidInput(
            "only PNG, JPEG and WebP images are accepted", code="unsupported_image_type"
        )
    width, height = _DIMENSIONS[image_type](data)
    if width <= 0 or height <= 0:
        raise _unreadable(f"the {image_type.name} header declares no size")
    if width * height > max_pixels:
        raise InvalidInput(
            f"the image declares {width}x{height} pixels; at most {max_pixels} are accepted",
            code="image_too_many_pixels",
        )
    if contains_markup(data):
        raise InvalidInput(
            "the image carries markup (HTML, SVG or XML) and is refused",
            code="image_contains_markup",
        )
    return CheckedImage(data=data, type=image_type, width=width, height=height)


def sniff_image_type(data: bytes) -> ImageType | None:
    """The type the bytes themselves say (magic numbers), whatever the file was called."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageType.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return ImageType.JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageType.WEBP
    return None


def contains_markup(data: bytes) -> bool:
    """Markup tags in the first or last few KiB, in any letter case."""
    ends = (data[:_MARKUP_WINDOW], data[-_MARKUP_WINDOW:])
    return any(tag in end.lower() for end in ends for tag in _MARKUP)


def _unreadable(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="unreadable_image")


def _png_dimensions(data: bytes) -> tuple[int, int]:
    # The signature, then the IHDR chunk first of all: length 13, type, width, height.
    if len(data) < 24 or data[8:16] != b"\x00\x00\x00\rIHDR":
        raise _unreadable("the PNG does not start with its IHDR header")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# Start-of-frame markers: baseline, extended, progressive, lossless, and their
# differential and arithmetic-coded variants (not DHT C4, JPG C8 or DAC CC).
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
# Markers that stand alone, without a length: TEM and the restart markers.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def _jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """Walk the marker segments after SOI up to the frame header (SOFn)."""
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise _unreadable("the JPEG's segments are broken before its frame header")
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= len(data):
            break
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD8, 0xD9, 0xDA):  # SOI again, EOI or scan data before any frame
            break
        if pos + 2 > len(data):
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            break
        if marker in _JPEG_SOF:
            if length < 7 or pos + 7 > len(data):
                break
            height = int.from_bytes(data[pos + 3 : pos + 5], "big")
            width = int.from_bytes(data[pos + 5 : pos + 7], "big")
            return width, height
        pos += length
    raise _unreadable("the JPEG has no frame header (SOF)")


def _webp_dimensions(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    body = data[20:]
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        # A key frame: 3 bytes of frame tag, the start code, 14-bit width and height.
        width = int.from_bytes(body[6:8], "little") & 0x3FFF
        height = int.from_bytes(body[8:10], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(body) >= 10:
        # Flags and 3 reserved bytes, then the canvas size minus one, 24 bits each.
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return width, height
    raise _unreadable("the WebP has no readable VP8, VP8L or VP8X header")


_DIMENSIONS = {
    ImageType.PNG: _png_dimensions,
    ImageType.JPEG: _jpeg_dimensions,
    ImageType.WEBP: _webp_dimensions,
}
