"""``/api/v1/incidents``, ``/api/v1/incident-rules`` and ``/api/v1/support-groups``.

Incidents: everyone signed in reads, OPERATOR and above work them (VIEWERs are read-only
everywhere). Rules and support groups are ADMIN's to change; support groups (with their
members' e-mails) are read by OPERATOR and above, who assign incidents to them.
"""

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.incident_rules import (
    CreateIncidentRule,
    DeleteIncidentRule,
    GetIncidentRule,
    ListIncidentRules,
    UpdateIncidentRule,
)
from securityvision.application.incidents import (
    AttachFileToIncident,
    CreateIncident,
    GetIncident,
    ListIncidentMessages,
    ListIncidents,
    ListMyIncidents,
    OpenIncidentForDeviceEvent,
    OpenIncidentFromEvent,
    PostIncidentMessage,
    UpdateIncident,
)
from securityvision.application.support_groups import (
    CreateSupportGroup,
    DeleteSupportGroup,
    GetSupportGroup,
    ListSupportGroups,
    UpdateSupportGroup,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import current_user, requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_incidents import (
    FromEventCreate,
    IncidentCreate,
    IncidentRead,
    IncidentRuleCreate,
    IncidentRuleRead,
    IncidentRuleUpdate,
    IncidentUpdate,
    MessageCreate,
    MessageRead,
    SupportGroupCreate,
    SupportGroupRead,
    SupportGroupUpdate,
)

_OPERATORS = [requires(Role.OPERATOR)]
_ADMINS = [requires(Role.ADMIN)]

MessageLimit = Annotated[int, Parameter(ge=1, le=500, description="Messages to return at most")]
AnyRequest = Request[Any, Any, Any]


class IncidentsController(Controller):
    path = "/incidents"
    tags = ["incidents"]

    @get("/")
    async def list_incidents(
        self,
        list_incidents: NamedDependency[ListIncidents],
        only_open: FromQuery[bool] = False,
        device_id: FromQuery[int | None] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[IncidentRead]:
        """Newest first; ``only_open`` (OPEN, IN_PROGRESS) and ``device_id`` filter before
        ``skip``/``limit``."""
        found = await list_incidents.execute(
            only_open=only_open, device_id=device_id, skip=skip, limit=limit
        )
        return [IncidentRead.of(i) for i in found]

    @get("/my")
    async def list_my_incidents(
        self,
        request: AnyRequest,
        list_my_incidents: NamedDependency[ListMyIncidents],
        only_open: FromQuery[bool] = False,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[IncidentRead]:
        """The caller's queue: assigned to them, naming them as an assignee, assigned to one
        of their support groups, or assigned to nobody yet."""
        found = await list_my_incidents.execute(
            current_user(request), only_open=only_open, skip=skip, limit=limit
        )
        return [IncidentRead.of(i) for i in found]

    @post("/", status_code=HTTP_201_CREATED, guards=_OPERATORS)
    async def create_incident(
        self,
        request: AnyRequest,
        data: JSONBody[IncidentCreate],
        create_incident: NamedDependency[CreateIncident],
    ) -> IncidentRead:
        """Open an incident by hand; the caller is its creator, ``assignee_ids`` are stored."""
        return IncidentRead.of(await create_incident.execute(data.draft(), current_user(request)))

    @post("/from-event", status_code=HTTP_200_OK, guards=_OPERATORS)
    async def open_from_event(
        self,
        request: AnyRequest,
        data: JSONBody[FromEventCreate],
        open_incident_from_event: NamedDependency[OpenIncidentFromEvent],
    ) -> IncidentRead:
        """The device event's incident: the existing one, else one opened now through the
        rules with the fields sent over theirs (``409 incident_exists`` on a lost race)."""
        found = await open_incident_from_event.execute(data.request(), current_user(request))
        return IncidentRead.of(found)

    @post("/from-device-event/{device_event_id:int}", status_code=HTTP_200_OK, guards=_OPERATORS)
    async def open_for_device_event(
        self,
        request: AnyRequest,
        device_event_id: FromPath[int],
        open_incident_for_device_event: NamedDependency[OpenIncidentForDeviceEvent],
    ) -> IncidentRead:
        """A ``CAMERA_ISSUE`` incident from a camera's event (the existing one if any)."""
        found = await open_incident_for_device_event.execute(device_event_id, current_user(request))
        return IncidentRead.of(found)

    @get("/{incident_id:int}")
    async def get_incident(
        self, incident_id: FromPath[int], get_incident: NamedDependency[GetIncident]
    ) -> IncidentRead:
        return IncidentRead.of(await get_incident.execute(incident_id))

    @patch("/{incident_id:int}", guards=_OPERATORS)
    async def update_incident(
        self,
        request: AnyRequest,
        incident_id: FromPath[int],
        data: JSONBody[IncidentUpdate],
        update_incident: NamedDependency[UpdateIncident],
    ) -> IncidentRead:
        """Change the fields sent; a status change is validated and leaves a SYSTEM message."""
        found = await update_incident.execute(incident_id, data.changes(), current_user(request))
        return IncidentRead.of(found)

    @get("/{incident_id:int}/messages")
    async def list_messages(
        self,
        incident_id: FromPath[int],
        list_incident_messages: NamedDependency[ListIncidentMessages],
        after_id: FromQuery[int | None] = None,
        limit: MessageLimit = 500,
    ) -> list[MessageRead]:
        """The timeline oldest first; ``after_id`` gives only newer messages."""
        found = await list_incident_messages.execute(incident_id, after_id=after_id, limit=limit)
        return [MessageRead.of(m) for m in found]

    @post("/{incident_id:int}/messages", status_code=HTTP_201_CREATED, guards=_OPERATORS)
    async def post_message(
        self,
        request: AnyRequest,
        incident_id: FromPath[int],
        data: JSONBody[MessageCreate],
        post_incident_message: NamedDependency[PostIncidentMessage],
    ) -> MessageRead:
        """Write on the timeline (COMMENT unless ``message_type`` says otherwise), signed with
        the caller's name."""
        message = await post_incident_message.execute(
            incident_id, data.draft(), current_user(request)
        )
        return MessageRead.of(message)


class AttachmentUpload(msgspec.Struct, kw_only=True):
    """Multipart: the file in ``file``, an optional ``description``. The file's name and
    content type are not trusted: the bytes say what it is."""

    file: UploadFile
    description: str | None = None


class IncidentAttachmentsController(Controller):
    """Mounted with the upload routes (body limit MEDIA_MAX_BYTES, see ``create_app``)."""

    path = "/incidents"
    tags = ["incidents"]

    @post("/{incident_id:int}/attachments", status_code=HTTP_201_CREATED, guards=_OPERATORS)
    async def attach_file(
        self,
        request: AnyRequest,
        incident_id: FromPath[int],
        data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        attach_file_to_incident: NamedDependency[AttachFileToIncident],
    ) -> MessageRead:
        """Attach an image (PNG, JPEG, WebP, checked like floor-plan images) as a MEDIA
        message; other types answer ``415 unsupported_image_type``."""
        try:
            content = await data.file.read()
        finally:
            await data.file.close()
        message = await attach_file_to_incident.execute(
            incident_id,
            content,
            file_name=data.file.filename,
            description=data.description,
            actor=current_user(request),
        )
        return MessageRead.of(message)


class IncidentRulesController(Controller):
    path = "/incident-rules"
    tags = ["incident-rules"]

    @get("/")
    async def list_rules(
        self,
        list_incident_rules: NamedDependency[ListIncidentRules],
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[IncidentRuleRead]:
        rules = await list_incident_rules.execute(skip=skip, limit=limit)
        return [IncidentRuleRead.of(r) for r in rules]

    @post("/", status_code=HTTP_201_CREATED, guards=_ADMINS)
    async def create_rule(
        self,
        data: JSONBody[IncidentRuleCreate],
        create_incident_rule: NamedDependency[CreateIncidentRule],
    ) -> IncidentRuleRead:
        """Global (no ``device_id``, no ``camera_group_id``), for one camera, or for a group."""
        return IncidentRuleRead.of(await create_incident_rule.execute(data.new_rule()))

    @get("/{rule_id:int}")
    async def get_rule(
        self, rule_id: FromPath[int], get_incident_rule: NamedDependency[GetIncidentRule]
    ) -> IncidentRuleRead:
        return IncidentRuleRead.of(await get_incident_rule.execute(rule_id))

    @patch("/{rule_id:int}", guards=_ADMINS)
    async def update_rule(
        self,
        rule_id: FromPath[int],
        data: JSONBody[IncidentRuleUpdate],
        update_incident_rule: NamedDependency[UpdateIncidentRule],
    ) -> IncidentRuleRead:
        return IncidentRuleRead.of(await update_incident_rule.execute(rule_id, data.changes()))

    @delete("/{rule_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_ADMINS)
    async def delete_rule(
        self, rule_id: FromPath[int], delete_incident_rule: NamedDependency[DeleteIncidentRule]
    ) -> None:
        await delete_incident_rule.execute(rule_id)


class SupportGroupsController(Controller):
    path = "/support-groups"
    tags = ["support-groups"]

    @get("/", guards=_OPERATORS)
    async def list_support_groups(
        self,
        list_support_groups: NamedDependency[ListSupportGroups],
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[SupportGroupRead]:
        """Groups with ``members[{id, full_name, email}]``."""
        groups = await list_support_groups.execute(skip=skip, limit=limit)
        return [SupportGroupRead.of(g) for g in groups]

    @post("/", status_code=HTTP_200_OK, guards=_ADMINS)
    async def create_support_group(
        self,
        data: JSONBody[SupportGroupCreate],
        create_support_group: NamedDependency[CreateSupportGroup],
    ) -> SupportGroupRead:
        """A group (``200`` as the original; ``400 support_group_name_taken``)."""
        found = await create_support_group.execute(data.new_group(), data.member_ids)
        return SupportGroupRead.of(found)

    @get("/{group_id:int}", guards=_OPERATORS)
    async def get_support_group(
        self, group_id: FromPath[int], get_support_group: NamedDependency[GetSupportGroup]
    ) -> SupportGroupRead:
        return SupportGroupRead.of(await get_support_group.execute(group_id))

    @put("/{group_id:int}", guards=_ADMINS)
    async def update_support_group(
        self,
        group_id: FromPath[int],
        data: JSONBody[SupportGroupUpdate],
        update_support_group: NamedDependency[UpdateSupportGroup],
    ) -> SupportGroupRead:
        """Partial: the front end also sends ``{member_ids}`` alone."""
        return SupportGroupRead.of(await update_support_group.execute(group_id, data.changes()))

    @delete("/{group_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_ADMINS)
    async def delete_support_group(
        self,
        group_id: FromPath[int],
        delete_support_group: NamedDependency[DeleteSupportGroup],
    ) -> None:
        """``409 support_group_in_use`` while incidents are assigned to it."""
        await delete_support_group.execute(group_id)
