"""Tags: registering the BLE tags people wear, and the MACs heard that nobody registered."""

import msgspec

from securityvision.application.ports import UnitOfWork, UnitOfWorkFactory
from securityvision.application.webhooks import WebhookEvents, tag_payload
from securityvision.domain.errors import NotFound
from securityvision.domain.rtls import NewTag, Tag, UnknownTag, check_tag, normalize_mac
from securityvision.domain.webhooks import WebhookEventType


class TagDraft(msgspec.Struct, frozen=True, kw_only=True):
    mac_address: str
    label: str | None = None
    person_id: int | None = None
    active: bool = True
    notes: str | None = None


class TagChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update: UNSET fields are left as they are."""

    mac_address: str | msgspec.UnsetType = msgspec.UNSET
    label: str | msgspec.UnsetType | None = msgspec.UNSET
    person_id: int | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    notes: str | msgspec.UnsetType | None = msgspec.UNSET


def _tag_not_found(detail: str) -> NotFound:
    return NotFound(detail, code="tag_not_found")


async def _check_person(uow: UnitOfWork, person_id: int | None) -> None:
    if person_id is not None and await uow.people.get(person_id) is None:
        raise NotFound(f"person {person_id} not found", code="person_not_found")


class CreateTag:
    """Register a tag.

    - The MAC may be written in any usual spelling; it is stored as ``AA:BB:CC:DD:EE:FF``,
      and anything that is not a MAC is refused (``invalid_mac``).
    - A MAC is registered once (``tag_mac_taken``).
    - ``person_id``, when given, must name an existing person.
    """

    def __init__(self, uow: UnitOfWorkFactory, webhooks: WebhookEvents | None = None) -> None:
        self._uow = uow
        self._webhooks = webhooks

    async def execute(self, draft: TagDraft) -> Tag:
        new = NewTag(
            mac_address=normalize_mac(draft.mac_address),
            label=draft.label,
            person_id=draft.person_id,
            active=draft.active,
            notes=draft.notes,
        )
        check_tag(new)
        async with self._uow() as uow:
            await _check_person(uow, new.person_id)
            tag = await uow.tags.add(new)
            if self._webhooks is not None:
                await self._webhooks.tell(uow, WebhookEventType.TAG_CREATED, tag_payload(tag))
            await uow.commit()
        return tag


class UpdateTag:
    """Change only the fields sent, with the rules of ``CreateTag``."""

    def __init__(self, uow: UnitOfWorkFactory, webhooks: WebhookEvents | None = None) -> None:
        self._uow = uow
        self._webhooks = webhooks

    async def execute(self, tag_id: int, changes: TagChanges) -> Tag:
        values = {
            name: value
            for name in ("mac_address", "label", "person_id", "active", "notes")
            if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
        }
        if "mac_address" in values:
            values["mac_address"] = normalize_mac(values["mac_address"])
        async with self._uow() as uow:
            tag = await uow.tags.get(tag_id)
            if tag is None:
                raise _tag_not_found(f"tag {tag_id} not found")
            updated = msgspec.structs.replace(tag, **values)
            check_tag(updated)
            if updated.person_id != tag.person_id:
                await _check_person(uow, updated.person_id)
            saved = await uow.tags.update(updated)
            if self._webhooks is not None:
                await self._webhooks.tell(uow, WebhookEventType.TAG_UPDATED, tag_payload(saved))
            await uow.commit()
        return saved


class DeleteTag:
    """Remove a tag together with its readings, as the original's cascading keys did."""

    def __init__(self, uow: UnitOfWorkFactory, webhooks: WebhookEvents | None = None) -> None:
        self._uow = uow
        self._webhooks = webhooks

    async def execute(self, tag_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.tags.delete(tag_id):
                raise _tag_not_found(f"tag {tag_id} not found")
            if self._webhooks is not None:
                await self._webhooks.tell_deleted(
                    uow, WebhookEventType.TAG_DELETED, "tag_id", [tag_id]
                )
            await uow.commit()


class GetTag:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, tag_id: int) -> Tag:
        async with self._uow() as uow:
            tag = await uow.tags.get(tag_id)
        if tag is None:
            raise _tag_not_found(f"tag {tag_id} not found")
        return tag


class FindTagByMac:
    """Look a tag up by its MAC in any spelling (``aa-bb-…``, ``AABB.CCDD.EEFF``, ...)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, mac_address: str) -> Tag:
        mac = normalize_mac(mac_address)
        async with self._uow() as uow:
            tag = await uow.tags.get_by_mac(mac)
        if tag is None:
            raise _tag_not_found(f"no tag has MAC {mac}")
        return tag


class ListTags:
    """Tags in id order; ``person_id`` filters before paging (the original paged first)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, *, person_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> list[Tag]:
        async with self._uow() as uow:
            return list(await uow.tags.list(person_id=person_id, skip=skip, limit=limit))


class ListUnknownTags:
    """MACs heard by gateways but registered to no tag, most recently heard first, so an
    operator can register them."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[UnknownTag]:
        async with self._uow() as uow:
            return list(await uow.unknown_tags.list(skip=skip, limit=limit))


__all__ = [
    "CreateTag",
    "DeleteTag",
    "FindTagByMac",
    "GetTag",
    "ListTags",
    "ListUnknownTags",
    "TagChanges",
    "TagDraft",
    "UpdateTag",
]
