"""``/api/v1/collection-logs``: stored readings.

Everyone signed in reads; entering or removing a reading by hand is an ADMIN's correction of
the record the presence reports are built from.
"""

from datetime import datetime

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.collection_logs import (
    AddCollectionLog,
    DeleteCollectionLog,
    GetCollectionLog,
    ListCollectionLogs,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_collection_logs import (
    CollectionLogCreate,
    CollectionLogRead,
)

_WRITERS = [requires(Role.ADMIN)]


class CollectionLogsController(Controller):
    path = "/collection-logs"
    tags = ["collection-logs"]

    @get("/")
    async def list_collection_logs(
        self,
        *,
        list_collection_logs: NamedDependency[ListCollectionLogs],
        device_id: FromQuery[int | None] = None,
        tag_id: FromQuery[int | None] = None,
        from_ts: FromQuery[datetime | None] = None,
        to_ts: FromQuery[datetime | None] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[CollectionLogRead]:
        """Readings newest first; the filters (``from_ts``/``to_ts`` inclusive, UTC when no
        zone is given) apply before paging."""
        logs = await list_collection_logs.execute(
            device_id=device_id,
            tag_id=tag_id,
            from_ts=from_ts,
            to_ts=to_ts,
            skip=skip,
            limit=limit,
        )
        return [CollectionLogRead.of(log) for log in logs]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def add_collection_log(
        self,
        data: JSONBody[CollectionLogCreate],
        add_collection_log: NamedDependency[AddCollectionLog],
    ) -> CollectionLogRead:
        """Enter a reading by hand (``created_at`` defaults to now)."""
        return CollectionLogRead.of(await add_collection_log.execute(data.draft()))

    @get("/{log_id:int}")
    async def get_collection_log(
        self, log_id: FromPath[int], get_collection_log: NamedDependency[GetCollectionLog]
    ) -> CollectionLogRead:
        return CollectionLogRead.of(await get_collection_log.execute(log_id))

    @delete("/{log_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_collection_log(
        self, log_id: FromPath[int], delete_collection_log: NamedDependency[DeleteCollectionLog]
    ) -> None:
        await delete_collection_log.execute(log_id)
