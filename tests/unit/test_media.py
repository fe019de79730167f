"""Images: what is accepted (by the bytes alone), what is refused and why, how stored media is
named, kept and read back."""

import hashlib
import stat
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securityvision.adapters.media import FilesystemMediaStore, InMemoryMediaStore
from securityvision.application.media import ReadMedia
from securityvision.domain.errors import InvalidInput, NotFound, StorageError
from securityvision.domain.media import (
    MAX_IMAGE_PIXELS,
    ImageType,
    MediaKind,
    check_image,
    parse_media_name,
    sniff_image_type,
)
from tests.support import images

MiB = 1024 * 1024


def refusal(data: bytes, max_bytes: int = 5 * MiB) -> str:
    with pytest.raises(InvalidInput) as caught:
        check_image(data, max_bytes=max_bytes)
    return caught.value.code


@pytest.mark.parametrize(
    ("data", "kind", "size"),
    [
        (images.png(), ImageType.PNG, (64, 48)),
        (images.png(3, 2), ImageType.PNG, (3, 2)),
        (images.JPEG, ImageType.JPEG, (64, 48)),
        (images.PROGRESSIVE_JPEG, ImageType.JPEG, (64, 48)),
        (images.WEBP, ImageType.WEBP, (64, 48)),
        (images.LOSSLESS_WEBP, ImageType.WEBP, (40, 30)),
        (images.ALPHA_WEBP, ImageType.WEBP, (50, 20)),
    ],
)
def test_real_png_jpeg_and_webp_images_are_accepted_with_their_declared_size(
    data: bytes, kind: ImageType, size: tuple[int, int]
) -> None:
    checked = check_image(data, max_bytes=5 * MiB)
    assert (checked.type, (checked.width, checked.height)) == (kind, size)
    assert checked.data == data
    assert checked.file_name == f"{hashlib.sha256(data).hexdigest()}.{kind.extension}"


def test_a_jpeg_whose_frame_header_follows_other_segments_is_read() -> None:
    comment = b"\xff\xfe" + struct.pack(">H", 2 + 300) + b"c" * 300
    exif_like = b"\xff\xe1" + struct.pack(">H", 2 + 1000) + bytes(1000)
    data = images.JPEG[:2] + comment + exif_like + images.JPEG[2:]
    checked = check_image(data, max_bytes=5 * MiB)
    assert (checked.width, checked.height) == (64, 48)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (images.SVG, "unsupported_image_type"),
        (images.HTML, "unsupported_image_type"),
        (images.GIF, "unsupported_image_type"),
        (b"%PDF-1.7\n", "unsupported_image_type"),
        (b"\xef\xbb\xbf<svg/>", "unsupported_image_type"),
        (images.png()[:20], "unreadable_image"),
        (images.JPEG[:100], "unreadable_image"),
        (b"\xff\xd8\xff\xd9", "unreadable_image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "unreadable_image"),
        (images.png_claiming(100_000, 100_000), "image_too_many_pixels"),
        (images.png_claiming(0, 10), "unreadable_image"),
        (images.png(trailer=b"<html><script>alert(1)</script></html>"), "image_contains_markup"),
        (images.JPEG + b"<SCRIPT>alert(1)</SCRIPT>", "image_contains_markup"),
        (images.png(trailer=b'<?xml version="1.0"?><svg/>'), "image_contains_markup"),
    ],
    ids=[
        "empty",
        "svg",
        "html",
        "gif",
        "pdf",
        "svg-with-bom",
        "truncated-png",
        "jpeg-without-frame",
        "jpeg-soi-eoi-only",
        "webp-without-header",
        "decompression-bomb",
        "zero-width",
        "png-then-html",
        "jpeg-then-script",
        "png-then-svg",
    ],
)
def test_anything_but_a_sound_raster_image_is_refused_with_a_stable_code(
    data: bytes, code: str
) -> None:
    assert refusal(data) == code


def test_the_size_limit_counts_bytes_and_the_pixel_limit_declared_pixels() -> None:
    data = images.png()
    assert refusal(data, max_bytes=len(data) - 1) == "image_too_large"
    assert check_image(data, max_bytes=len(data)).data == data
    side = int(MAX_IMAGE_PIXELS**0.5)
    assert check_image(images.png_claiming(side, side), max_bytes=MiB).width == side
    with pytest.raises(InvalidInput) as caught:
        check_image(images.png(4, 4), max_bytes=MiB, max_pixels=15)
    assert caught.value.code == "image_too_many_pixels"


def test_markup_in_the_middle_of_a_large_image_is_not_taken_for_a_polyglot() -> None:
    # Compressed data is random bytes: only the ends, where sniffers look, are searched.
    middle = b"\x00" * 8192 + b"<html>" + b"\x00" * 8192
    comment = b"\xff\xfe" + struct.pack(">H", 2 + len(middle)) + middle
    data = images.JPEG[:2] + comment + images.JPEG[2:]
    assert check_image(data, max_bytes=MiB).type is ImageType.JPEG


def test_the_type_comes_from_the_bytes_never_from_a_name() -> None:
    assert sniff_image_type(images.GIF) is None
    assert sniff_image_type(images.JPEG) is ImageType.JPEG
    assert sniff_image_type(b"plan.png") is None


@given(
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x10\x00\x00\x00WEBP"]),
    st.binary(max_size=200),
)
def test_garbage_behind_an_image_signature_is_refused_or_accepted_but_never_crashes(
    signature: bytes, rest: bytes
) -> None:
    outcome: str
    try:
        checked = check_image(signature + rest, max_bytes=MiB)
    except InvalidInput as refused:
        outcome = refused.code
    else:
        outcome = "accepted"
        assert 0 < checked.width * checked.height <= MAX_IMAGE_PIXELS
    assert outcome in {
        "accepted",
        "unreadable_image",
        "image_too_many_pixels",
        "image_contains_markup",
    }


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("floor_plans", "a" * 64 + ".png", (MediaKind.FLOOR_PLANS, ImageType.PNG)),
        ("incidents", "0" * 64 + ".jpg", (MediaKind.INCIDENTS, ImageType.JPEG)),
        ("floor_plans", "f" * 64 + ".webp", (MediaKind.FLOOR_PLANS, ImageType.WEBP)),
        ("floor_plans", "a" * 64 + ".gif", None),
        ("floor_plans", "a" * 64 + ".html", None),
        ("floor_plans", "A" * 64 + ".png", None),
        ("floor_plans", "a" * 63 + ".png", None),
        ("floor_plans", "../" + "a" * 61 + ".png", None),
        ("floor_plans", "floor_1.png", None),
        ("floor_plans", "", None),
        ("..", "a" * 64 + ".png", None),
        ("other", "a" * 64 + ".png", None),
    ],
)
def test_only_names_the_system_could_have_written_are_media_names(
    kind: str, name: str, expected: tuple[MediaKind, ImageType] | None
) -> None:
    assert parse_media_name(kind, name) == expected


async def test_the_filesystem_store_keeps_an_image_once_by_its_hash_world_readable(
    tmp_path: Path,
) -> None:
    store = FilesystemMediaStore(tmp_path / "media")
    image = check_image(images.JPEG, max_bytes=MiB)
    stored = await store.save(image, MediaKind.FLOOR_PLANS)
    again = await store.save(image, MediaKind.FLOOR_PLANS)
    path = tmp_path / "media" / "floor_plans" / image.file_name
    assert stored == again
    assert (stored.file_name, stored.content_type, stored.size) == (
        image.file_name,
        "image/jpeg",
        len(images.JPEG),
    )
    assert stored.url == f"/media/floor_plans/{image.file_name}"
    assert path.read_bytes() == images.JPEG
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == [image.file_name]
    assert await store.read(MediaKind.FLOOR_PLANS, image.file_name) == images.JPEG
    assert await store.read(MediaKind.INCIDENTS, image.file_name) is None


async def test_the_filesystem_store_creates_nothing_until_it_saves_and_reads_no_other_file(
    tmp_path: Path,
) -> None:
    root = tmp_path / "media"
    store = FilesystemMediaStore(root)
    assert await store.read(MediaKind.FLOOR_PLANS, "a" * 64 + ".png") is None
    assert not root.exists()
    (root / "floor_plans").mkdir(parents=True)
    (root / "secret.png").write_bytes(b"secret")
    (root / "floor_plans" / "plan.png").write_bytes(images.png())
    assert await store.read(MediaKind.FLOOR_PLANS, "../secret.png") is None
    assert await store.read(MediaKind.FLOOR_PLANS, "plan.png") is None


async def test_a_failed_write_leaves_no_partial_file_behind(tmp_path: Path) -> None:
    root = tmp_path / "media"
    (root / "floor_plans").mkdir(parents=True)
    image = check_image(images.png(), max_bytes=MiB)
    # The final name is taken by a folder: the rename fails after the data was written.
    (root / "floor_plans" / image.file_name / "x").mkdir(parents=True)
    store = FilesystemMediaStore(root)
    with pytest.raises(StorageError, match="could not store media"):
        await store.save(image, MediaKind.FLOOR_PLANS)
    assert [p.name for p in (root / "floor_plans").iterdir()] == [image.file_name]


async def test_read_media_serves_stored_images_and_nothing_else() -> None:
    store = InMemoryMediaStore()
    image = check_image(images.WEBP, max_bytes=MiB)
    await store.save(image, MediaKind.INCIDENTS)
    found = await ReadMedia(store).execute("incidents", image.file_name)
    assert (found.data, found.type) == (images.WEBP, ImageType.WEBP)
    for kind, name in [
        ("floor_plans", image.file_name),
        ("incidents", "../incidents/" + image.file_name),
        ("incidents", image.file_name.replace(".webp", ".png")),
    ]:
        with pytest.raises(NotFound) as caught:
            await ReadMedia(store).execute(kind, name)
        assert caught.value.code == "media_not_found"
