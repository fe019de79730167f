"""``/api/v1/locations``: access-control locations over floors, and their rules.

Everyone signed in reads; ADMIN and above write (sites are an administrator's).
"""

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.locations import (
    CreateLocation,
    CreateLocationRule,
    DeleteLocation,
    DeleteLocationRule,
    GetLocation,
    ListLocationRules,
    ListLocations,
    UpdateLocation,
    UpdateLocationRule,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_sites import (
    LocationCreate,
    LocationRead,
    LocationRuleCreate,
    LocationRuleRead,
    LocationRuleUpdate,
    LocationUpdate,
)

_WRITERS = [requires(Role.ADMIN)]


class LocationsController(Controller):
    path = "/locations"
    tags = ["locations"]

    @get("/")
    async def list_locations(
        self, list_locations: NamedDependency[ListLocations], skip: Skip = 0, limit: Limit = 100
    ) -> list[LocationRead]:
        """Locations in id order, each with its ``floor_ids``."""
        return [
            LocationRead.of(loc) for loc in await list_locations.execute(skip=skip, limit=limit)
        ]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_location(
        self, data: JSONBody[LocationCreate], create_location: NamedDependency[CreateLocation]
    ) -> LocationRead:
        """Create a location over existing floors (``404 floor_not_found``)."""
        return LocationRead.of(await create_location.execute(data.new_location()))

    @get("/{location_id:int}")
    async def get_location(
        self, location_id: FromPath[int], get_location: NamedDependency[GetLocation]
    ) -> LocationRead:
        return LocationRead.of(await get_location.execute(location_id))

    @put("/{location_id:int}", guards=_WRITERS)
    async def update_location(
        self,
        location_id: FromPath[int],
        data: JSONBody[LocationUpdate],
        update_location: NamedDependency[UpdateLocation],
    ) -> LocationRead:
        """Change only the fields sent; ``floor_ids`` replaces the floors."""
        return LocationRead.of(await update_location.execute(location_id, data.changes()))

    @delete("/{location_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_location(
        self, location_id: FromPath[int], delete_location: NamedDependency[DeleteLocation]
    ) -> None:
        """Remove a location with its rules; devices in it stay, with no location."""
        await delete_location.execute(location_id)

    @get("/{location_id:int}/rules")
    async def list_location_rules(
        self, location_id: FromPath[int], list_location_rules: NamedDependency[ListLocationRules]
    ) -> list[LocationRuleRead]:
        """The location's rules, in id order."""
        return [LocationRuleRead.of(r) for r in await list_location_rules.execute(location_id)]

    @post("/{location_id:int}/rules", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_location_rule(
        self,
        location_id: FromPath[int],
        data: JSONBody[LocationRuleCreate],
        create_location_rule: NamedDependency[CreateLocationRule],
    ) -> LocationRuleRead:
        """Add a rule; the body's ``location_id`` must be the one in the path
        (``400 location_id_mismatch``)."""
        rule = await create_location_rule.execute(location_id, data.new_rule())
        return LocationRuleRead.of(rule)

    @put("/rules/{rule_id:int}", guards=_WRITERS)
    async def update_location_rule(
        self,
        rule_id: FromPath[int],
        data: JSONBody[LocationRuleUpdate],
        update_location_rule: NamedDependency[UpdateLocationRule],
    ) -> LocationRuleRead:
        """Change only the fields sent."""
        return LocationRuleRead.of(await update_location_rule.execute(rule_id, data.changes()))

    @delete("/rules/{rule_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_location_rule(
        self, rule_id: FromPath[int], delete_location_rule: NamedDependency[DeleteLocationRule]
    ) -> None:
        await delete_location_rule.execute(rule_id)
