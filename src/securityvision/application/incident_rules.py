"""Incident rules: which camera events open incidents, for which cameras, how severe, and
assigned to whom."""

from collections.abc import Sequence
from typing import TypeVar

import msgspec

from securityvision.application.ports import UnitOfWork, UnitOfWorkFactory
from securityvision.domain.errors import NotFound
from securityvision.domain.incident_rules import IncidentRule, NewIncidentRule, check_rule
from securityvision.domain.incidents import Severity

_UNSET = msgspec.UNSET


class IncidentRuleChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update (the front end's toggle sends ``{enabled}`` alone)."""

    name: str | msgspec.UnsetType = _UNSET
    enabled: bool | msgspec.UnsetType = _UNSET
    analytic_type: str | msgspec.UnsetType = _UNSET
    device_id: int | msgspec.UnsetType | None = _UNSET
    camera_group_id: int | msgspec.UnsetType | None = _UNSET
    tenant: str | msgspec.UnsetType | None = _UNSET
    severity: Severity | msgspec.UnsetType = _UNSET
    title_template: str | msgspec.UnsetType | None = _UNSET
    description_template: str | msgspec.UnsetType | None = _UNSET
    assigned_to_user_id: int | msgspec.UnsetType | None = _UNSET
    assigned_group_id: int | msgspec.UnsetType | None = _UNSET


def rule_not_found(rule_id: int) -> NotFound:
    return NotFound(f"incident rule {rule_id} not found", code="incident_rule_not_found")


async def _check_references(uow: UnitOfWork, rule: NewIncidentRule) -> None:
    """Everything a rule names must exist, so it never points at nothing."""
    if rule.device_id is not None and await uow.devices.get(rule.device_id) is None:
        raise NotFound(f"device {rule.device_id} not found", code="device_not_found")
    camera_group_id, user_id = rule.camera_group_id, rule.assigned_to_user_id
    if camera_group_id is not None and await uow.camera_groups.get(camera_group_id) is None:
        raise NotFound(f"camera group {camera_group_id} not found", code="camera_group_not_found")
    if user_id is not None and await uow.users.get(user_id) is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")
    group_id = rule.assigned_group_id
    if group_id is not None and await uow.support_groups.get(group_id) is None:
        raise NotFound(f"support group {group_id} not found", code="support_group_not_found")


_R = TypeVar("_R", NewIncidentRule, IncidentRule)


def _cleaned(rule: _R) -> _R:
    return msgspec.structs.replace(
        rule,
        name=rule.name.strip(),
        analytic_type=rule.analytic_type.strip(),
        tenant=(rule.tenant or "").strip() or None,
    )


class CreateIncidentRule:
    """A rule: name and analytic type required; one scope at most (a camera or a camera
    group, ``rule_scope_ambiguous`` for both; neither is global); everything named exists."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, draft: NewIncidentRule) -> IncidentRule:
        rule = _cleaned(draft)
        check_rule(rule)
        async with self._uow() as uow:
            await _check_references(uow, rule)
            added = await uow.incident_rules.add(rule)
            await uow.commit()
        return added


class UpdateIncidentRule:
    """Change the fields sent, with the rules of ``CreateIncidentRule``."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, rule_id: int, changes: IncidentRuleChanges) -> IncidentRule:
        values = {
            name: value
            for name in changes.__struct_fields__
            if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
        }
        async with self._uow() as uow:
            rule = await uow.incident_rules.get(rule_id)
            if rule is None:
                raise rule_not_found(rule_id)
            if not values:
                return rule
            changed = _cleaned(msgspec.structs.replace(rule, **values))
            check_rule(changed)
            await _check_references(uow, changed)
            saved = await uow.incident_rules.update(changed)
            await uow.commit()
        return saved


class GetIncidentRule:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, rule_id: int) -> IncidentRule:
        async with self._uow() as uow:
            rule = await uow.incident_rules.get(rule_id)
        if rule is None:
            raise rule_not_found(rule_id)
        return rule


class ListIncidentRules:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> Sequence[IncidentRule]:
        async with self._uow() as uow:
            return await uow.incident_rules.list(skip=skip, limit=limit)


class DeleteIncidentRule:
    """Remove a rule; incidents it opened stay (they only forget the rule)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, rule_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.incident_rules.delete(rule_id):
                raise rule_not_found(rule_id)
            await uow.commit()


__all__ = [
    "CreateIncidentRule",
    "DeleteIncidentRule",
    "GetIncidentRule",
    "IncidentRuleChanges",
    "ListIncidentRules",
    "UpdateIncidentRule",
    "rule_not_found",
]
