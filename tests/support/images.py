"""Images for the media tests, made here or kept as bytes: a few hundred bytes each.

The JPEGs and WebPs were written by ImageMagick (64x48 and smaller gradients) and are kept
as base64 so no binary file sits in the repository; PNGs are built on the spot, which also
makes the malicious variants (a lying IHDR, markup after the image) easy to state.
"""

import base64
import struct
import zlib


def png(width: int = 64, height: int = 48, *, trailer: bytes = b"") -> bytes:
    """A valid greyscale PNG (a horizontal gradient), with ``trailer`` after its IEND."""
    rows = b"".join(
        b"\x00" + bytes((x * 255) // max(width - 1, 1) for x in range(width)) for _ in range(height)
    )
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
        + trailer
    )


def png_claiming(width: int, height: int) -> bytes:
    """A decompression bomb's header: an IHDR declaring ``width`` x ``height`` over a tiny
    compressed body (no real decoder should ever be handed it)."""
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# 64x48, baseline (SOF0) and progressive (SOF2).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQa"
    "FRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4e"
    "Hh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wAARCAAwAEADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAA"
    "AAYI/8QAFxAAAwEAAAAAAAAAAAAAAAAAABViof/EABgBAQADAQAAAAAAAAAAAAAAAAAEBQcI/8QAFxEBAAMAAAAA"
    "AAAAAAAAAAAAABIVYf/aAAwDAQACEQMRAD8Az4okKJL1TOBTOHVdpqjgglEhRJeqZwKZwWmkEEokKJL1TOBTOC00"
    "gglEhRJeqZwKZwWmkF8pnApnC9UzgUzhnVpqXBBKZwKZwvVM4FM4LTSCCUzgUzheqZwKZwWmkEEpnApnC9UzgUzg"
    "tNIL5TOBTOF6pkKZM5tNTIIJTOBTOF6pkKZFppBBKZwKZwvVMhTItNIIJTOBTOF6pkKZFppB/9k="
)

PROGRESSIVE_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQa"
    "FRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4e"
    "Hh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wgARCAAwAEADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAA"
    "AAUH/8QAGAEBAAMBAAAAAAAAAAAAAAAAAAMEBgf/2gAMAwEAAhADEAAAAc9X3VaMBfEBfEBfF9eZ2WCvCCvCCvC+"
    "vs5NAXxAXxAXx//EABUQAQEAAAAAAAAAAAAAAAAAAAAT/9oACAEBAAEFApJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJ"
    "JJJJJJJJJJJJJJJJJP/EABURAQEAAAAAAAAAAAAAAAAAAAAR/9oACAEDAQE/AYiIiIiIiP/EABURAQEAAAAAAAAA"
    "AAAAAAAAAAAU/9oACAECAQE/AalSpUqVKlSpUqVP/8QAFBABAAAAAAAAAAAAAAAAAAAAUP/aAAgBAQAGPwJD/8QA"
    "FRABAQAAAAAAAAAAAAAAAAAAAHH/2gAIAQEAAT8hlKUpSlKUpSlKUpSlKUpSlKUpSlKUpSlKUpSlKUpS/9oADAMB"
    "AAIAAwAAABDLLLI0003HHHH/xAAUEQEAAAAAAAAAAAAAAAAAAAAw/9oACAEDAQE/EE//AP/EABURAQEAAAAAAAAA"
    "AAAAAAAAAABx/9oACAECAQE/EKUpSlKUpSlP/8QAFxAAAwEAAAAAAAAAAAAAAAAAABHwMP/aAAgBAQABPxDCqqoR"
    "CIRCIRCIRCIRCIRCIRCIRCIRCIRCIRCIRCIRCIRCIRCIRCxAAD//2Q=="
)

# 64x48 lossy (VP8), 40x30 lossless (VP8L), 50x20 with alpha (VP8X).
WEBP = base64.b64decode(
    "UklGRpQAAABXRUJQVlA4IIgAAACQBQCdASpAADAAPm0okUWkIqGb+qwAQAbEsQBk21dpf5d/wOMsfS19mHjq3GyT"
    "EfMKYXOOgAD++/2GmbueV0//4WQ//CyH/2eJ/lmP6+Xc0Xukza1pkPwmoPlebHG/oTrE/xR7ITYCSbxBxfUs+rT9"
    "vCpp7eep7r4y98NSemwMX/KX40nWqAAA"
)

LOSSLESS_WEBP = base64.b64decode(
    "UklGRkIAAABXRUJQVlA4TDYAAAAvJ0AHAJmM6H9sIqL/AbVt2zAa7f+/Ts82/0KCFBI1lLZtwKRosX5BECW7HFI9"
    "c7/JHv9+dwI="
)

ALPHA_WEBP = base64.b64decode(
    "UklGRo4AAABXRUJQVlA4WAoAAAAQAAAAMQAAEwAAQUxQSCQAAAABmYzof0BNAEKQ/nEJYHfvGDEBZAMUhcklDnml"
    "ALp8vnv51ABWUDggRAAAAHADAJ0BKjIAFAA+kUifS6WkIqGkCACwEglnANBGgAAgjSRhoAD+7qY//3HYG68W//7n"
    "A/7nA/7nA/jbCJdhNulAAAAA"
)

# A 1x1 GIF: a raster image, but not a type this system takes.
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
