"""Media stores: checked images kept by content hash, on disk (``MEDIA_ROOT``) or in memory.

Both take only ``CheckedImage`` values (bytes that passed ``domain.media.check_image``), so
nothing unchecked can be stored through them, and name files by content: the same image is
stored once and the name is never one a client chose.
"""

import asyncio
import os
import tempfile
from pathlib import Path

from securityvision.domain.errors import StorageError
from securityvision.domain.media import CheckedImage, MediaKind, StoredMedia, parse_media_name


class FilesystemMediaStore:
    """Files under ``root/<kind>/<sha256>.<ext>``, world-readable, written atomically.

    A file appears whole or not at all (written to a temporary file in the same folder,
    flushed to disk, then renamed over the final name), so a crash or a concurrent upload of
    the same image never leaves a half-written file under a served name. Folders are created
    on the first save, never before: a refused upload leaves ``root`` as it was.
    """

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root)

    async def save(self, image: CheckedImage, kind: MediaKind) -> StoredMedia:
        try:
            await asyncio.to_thread(self._write, image, kind)
        except OSError as exc:
            raise StorageError(f"could not store media: {type(exc).__name__}") from exc
        return StoredMedia(
            kind=kind,
            file_name=image.file_name,
            content_type=image.type.content_type,
            size=len(image.data),
        )

    def _write(self, image: CheckedImage, kind: MediaKind) -> None:
        folder = self._root / kind.value
        target = folder / image.file_name
        if target.is_file():
            return  # the same content is already there, under the same name
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(image.data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def read(self, kind: MediaKind, file_name: str) -> bytes | None:
        if parse_media_name(kind.value, file_name) is None:
            return None
        try:
            return await asyncio.to_thread((self._root / kind.value / file_name).read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"could not read media: {type(exc).__name__}") from exc


class InMemoryMediaStore:
    """The same contract in a dict, for use-case tests and embedding services."""

    def __init__(self) -> None:
        self.files: dict[tuple[MediaKind, str], bytes] = {}

    async def save(self, image: CheckedImage, kind: MediaKind) -> StoredMedia:
        self.files.setdefault((kind, image.file_name), image.data)
        return StoredMedia(
            kind=kind,
            file_name=image.file_name,
            content_type=image.type.content_type,
            size=len(image.data),
        )

    async def read(self, kind: MediaKind, file_name: str) -> bytes | None:
        return self.files.get((kind, file_name))
