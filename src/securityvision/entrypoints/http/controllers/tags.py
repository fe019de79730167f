"""``/api/v1/tags``: registered tags, and MACs heard that nobody registered.

Everyone signed in reads; OPERATOR and above write.
"""

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.tags import (
    CreateTag,
    DeleteTag,
    FindTagByMac,
    GetTag,
    ListTags,
    ListUnknownTags,
    UpdateTag,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_tags import (
    TagCreate,
    TagRead,
    TagUpdate,
    UnknownTagRead,
)

_WRITERS = [requires(Role.OPERATOR)]


class TagsController(Controller):
    path = "/tags"
    tags = ["tags"]

    @get("/")
    async def list_tags(
        self,
        list_tags: NamedDependency[ListTags],
        person_id: FromQuery[int | None] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[TagRead]:
        """Tags in id order; ``person_id`` filters before paging."""
        tags = await list_tags.execute(person_id=person_id, skip=skip, limit=limit)
        return [TagRead.of(t) for t in tags]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_tag(
        self, data: JSONBody[TagCreate], create_tag: NamedDependency[CreateTag]
    ) -> TagRead:
        """Register a tag: the MAC in any spelling (stored ``AA:BB:CC:DD:EE:FF``; not a MAC:
        ``422 invalid_mac``; taken: ``400 tag_mac_taken``); ``is_active`` or ``active``."""
        return TagRead.of(await create_tag.execute(data.draft()))

    @get("/unknown")
    async def list_unknown_tags(
        self,
        list_unknown_tags: NamedDependency[ListUnknownTags],
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[UnknownTagRead]:
        """MACs gateways heard that no tag has, most recently heard first, with the gateway
        that heard each last."""
        unknown = await list_unknown_tags.execute(skip=skip, limit=limit)
        return [UnknownTagRead.of(u) for u in unknown]

    @get("/by-mac/{mac:str}")
    async def get_tag_by_mac(
        self, mac: FromPath[str], find_tag_by_mac: NamedDependency[FindTagByMac]
    ) -> TagRead:
        """The tag with this MAC, written in any spelling."""
        return TagRead.of(await find_tag_by_mac.execute(mac))

    @get("/{tag_id:int}")
    async def get_tag(self, tag_id: FromPath[int], get_tag: NamedDependency[GetTag]) -> TagRead:
        return TagRead.of(await get_tag.execute(tag_id))

    @put("/{tag_id:int}", guards=_WRITERS)
    async def update_tag(
        self,
        tag_id: FromPath[int],
        data: JSONBody[TagUpdate],
        update_tag: NamedDependency[UpdateTag],
    ) -> TagRead:
        """Change only the fields sent."""
        return TagRead.of(await update_tag.execute(tag_id, data.changes()))

    @delete("/{tag_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_tag(
        self, tag_id: FromPath[int], delete_tag: NamedDependency[DeleteTag]
    ) -> None:
        """Remove a tag and its readings."""
        await delete_tag.execute(tag_id)
