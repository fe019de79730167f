"""``/media/<folder>/<sha256>.<ext>``: stored images, public as the front end's ``<img>`` tags
load them (no token), by exact unguessable name only.

Nothing is listed and no other file can be named (see ``ReadMedia``). The content type is the
server's, from the stored name; ``nosniff`` and a sandboxing CSP keep a browser from ever
treating the bytes as anything but an image, even opened on their own.
"""

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from securityvision.application.media import ReadMedia
from securityvision.entrypoints.http.auth import PUBLIC

MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    # Names are content hashes: a name's bytes never change.
    "Cache-Control": "public, max-age=31536000, immutable",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


class MediaController(Controller):
    path = "/media"
    tags = ["media"]
    opt = {PUBLIC: True}

    @get("/{kind:str}/{file_name:str}")
    async def serve_media(
        self, kind: FromPath[str], file_name: FromPath[str], read_media: NamedDependency[ReadMedia]
    ) -> Response[bytes]:
        """A stored image (``404 media_not_found`` for anything else)."""
        found = await read_media.execute(kind, file_name)
        return Response(
            content=found.data,
            media_type=found.type.content_type,
            headers=MEDIA_HEADERS | {"ETag": f'"{file_name.partition(".")[0]}"'},
        )
