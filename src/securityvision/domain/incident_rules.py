"""Incident rules: which camera events open incidents, which rule wins when several match,
the incident's kind, and its title and description from the rule's templates."""

import string
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from securityvision.domain.errors import InvalidInput
from securityvision.domain.incidents import Severity


class NewIncidentRule(msgspec.Struct, frozen=True, kw_only=True):
    """``device_id`` or ``camera_group_id`` narrow the rule to a camera or a group of them;
    with neither it is global. ``tenant`` narrows it to events of that tenant."""

    name: str
    analytic_type: str
    enabled: bool = True
    device_id: int | None = None
    camera_group_id: int | None = None
    tenant: str | None = None
    severity: Severity = Severity.MEDIUM
    title_template: str | None = None
    description_template: str | None = None
    assigned_to_user_id: int | None = None
    assigned_group_id: int | None = None


class IncidentRule(NewIncidentRule, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    updated_at: datetime

    @property
    def specificity(self) -> int:
        """A rule for one camera beats one for its group, which beats a global one."""
        if self.device_id is not None:
            return 2
        return 1 if self.camera_group_id is not None else 0


# The rules every installation starts with (migration 0008 seeds the same rows): a face
# captured or recognised by any camera becomes an incident with no setup (SPEC §7).
DEFAULT_RULES = (
    NewIncidentRule(name="Captura de face (padrão)", analytic_type="faceCapture"),
    NewIncidentRule(name="Reconhecimento facial (padrão)", analytic_type="faceRecognized"),
)

TEMPLATE_MAX_LENGTH = 2000


def check_rule(rule: NewIncidentRule) -> None:
    """A name and an analytic type; one scope at most (a camera *or* a group)."""
    if not rule.name.strip():
        raise InvalidInput("name is required", code="name_required")
    if not rule.analytic_type.strip():
        raise InvalidInput("analytic_type is required", code="analytic_type_required")
    if len(rule.name) > 255 or len(rule.analytic_type) > 128:
        raise InvalidInput("name (255) or analytic_type (128) too long", code="too_long")
    if rule.tenant is not None and len(rule.tenant) > 64:
        raise InvalidInput("tenant must have at most 64 characters", code="too_long")
    for template in (rule.title_template, rule.description_template):
        if template is not None and len(template) > TEMPLATE_MAX_LENGTH:
            raise InvalidInput(
                f"templates must have at most {TEMPLATE_MAX_LENGTH} characters", code="too_long"
            )
    if rule.device_id is not None and rule.camera_group_id is not None:
        raise InvalidInput(
            "a rule is for one camera (device_id) or one camera group (camera_group_id), not both",
            code="rule_scope_ambiguous",
        )


def rule_matches(
    rule: IncidentRule,
    *,
    analytic_type: str,
    device_id: int,
    group_ids: Collection[int],
    tenant: str | None,
) -> bool:
    """The original's matching (ORIGINAL.md §4): enabled, the same analytic type, the
    event's tenant when the payload names one, and the scope (global, the camera, or one of
    its groups). Tenants are compared case-insensitively."""
    if not rule.enabled or rule.analytic_type != analytic_type:
        return False
    if tenant is not None and rule.tenant is not None and rule.tenant.lower() != tenant.lower():
        return False
    if rule.device_id is not None:
        return rule.device_id == device_id
    if rule.camera_group_id is not None:
        return rule.camera_group_id in group_ids
    return True


def pick_rule(
    rules: Sequence[IncidentRule],
    *,
    analytic_type: str,
    device_id: int,
    group_ids: Collection[int],
    tenant: str | None,
) -> IncidentRule | None:
    """The one rule that decides an event's incident (one event, one incident; the original
    opened one per matching rule and broke on its unique key, bug 11).

    Among the matching rules: the most specific scope (camera, then group, then global),
    then one naming the tenant over one that does not, then the highest severity, then the
    oldest rule.
    """
    matching = [
        r
        for r in rules
        if rule_matches(
            r, analytic_type=analytic_type, device_id=device_id, group_ids=group_ids, tenant=tenant
        )
    ]
    if not matching:
        return None
    return min(matching, key=lambda r: (-r.specificity, r.tenant is None, -r.severity.rank, r.id))


def kind_for(analytic_type: str) -> str:
    """The incident kind an analytic type implies, as the original inferred it."""
    lowered = analytic_type.lower()
    if "offline" in lowered or "status" in lowered:
        return "CAMERA_OFFLINE"
    if "face" in lowered:
        return "CAMERA_FACE"
    if "intrusion" in lowered or "alarm" in lowered:
        return "CAMERA_INTRUSION"
    if "tamper" in lowered:
        return "CAMERA_TAMPER"
    return "CAMERA_EVENT"


DEFAULT_TITLE_TEMPLATE = "[AUTO] {analytic_type} na câmera {camera_name}"


class _SafeFormatter(string.Formatter):
    """``str.format`` for operators' templates that never fails and never reaches inside a
    value: unknown names stay as written (``{foo}``), attribute and index access
    (``{x.__class__}``, ``{x[0]}``) is not followed, and format specs and conversions apply
    only where they fit the value."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if field_name in kwargs:
            return kwargs[field_name], field_name
        return _Literal("{" + field_name + "}"), field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if isinstance(value, _Literal):
            return value
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, _Literal):
            return str(value)
        try:
            return format(value, format_spec)
        except (ValueError, TypeError):
            return str(value)


class _Literal(str):
    """A placeholder nobody filled: written back as it was."""

    __slots__ = ()


_FORMATTER = _SafeFormatter()


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with ``{name}`` placeholders filled from ``values``.

    Unknown placeholders are left as written; a template that is not a valid format string
    at all (an unmatched ``{``) is used as plain text. Never raises.
    """
    try:
        return _FORMATTER.vformat(template, (), dict(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return template


class NewSupportGroup(msgspec.Struct, frozen=True, kw_only=True):
    """A team incidents are assigned to; its ``default_sla_minutes`` wins over the
    severity's."""

    name: str
    description: str | None = None
    is_active: bool = True
    default_sla_minutes: int | None = None
    chatwoot_inbox_identifier: str | None = None
    chatwoot_team_id: int | None = None


class SupportGroup(NewSupportGroup, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    updated_at: datetime
    member_ids: tuple[int, ...] = ()


def check_support_group(group: NewSupportGroup) -> None:
    if not group.name.strip():
        raise InvalidInput("name is required", code="name_required")
    if len(group.name) > 100:
        raise InvalidInput("name must have at most 100 characters", code="too_long")
    if group.default_sla_minutes is not None and group.default_sla_minutes <= 0:
        raise InvalidInput("default_sla_minutes must be positive", code="invalid_sla")
