"""Serving stored media: images are public by unguessable name, never listed."""

from securityvision.application.ports import MediaStore
from securityvision.domain.errors import NotFound
from securityvision.domain.media import MediaFile, parse_media_name


class ReadMedia:
    """An image by folder and exact stored name.

    - Only names this system could have written (``<sha256>.<png|jpg|webp>`` in a known
      folder) are looked up, so a request can never reach another file (``..``, a listing,
      a name of its choosing): anything else is ``media_not_found``, like a missing file.
    - The type comes from the stored name, which came from the checked bytes.
    """

    def __init__(self, media: MediaStore) -> None:
        self._media = media

    async def execute(self, kind: str, file_name: str) -> MediaFile:
        parsed = parse_media_name(kind, file_name)
        data = None if parsed is None else await self._media.read(parsed[0], file_name)
        if parsed is None or data is None:
            raise NotFound("no such media", code="media_not_found")
        return MediaFile(data=data, type=parsed[1])


__all__ = ["ReadMedia"]
