"""The topics RTLS gateways publish on, taken apart.

Two forms live under the prefix (``RTLS_MQTT_TOPIC`` without its ``/#``)::

    <prefix>/<gateway_id>[/<kind>]
    <prefix>/<tenant>/<building>/<floor>/gateway/<gateway_id>[/<kind>]

``kind`` is ``beacon``, ``detection``, ``status`` or ``heartbeat``, or is left out (no
segment at all). The kind and the literal ``gateway`` are matched case-insensitively, and
the kind is reported lower case; every other segment is kept as sent.

Tolerances, and why:

- A topic delivered through a shared subscription never carries ``$share/<group>/``, but a
  router fed by hand (a replay tool, a test) may pass the subscription's spelling: that
  prefix is dropped.
- One leading ``/`` is ignored on both the topic and the prefix. MQTT calls ``/a`` and ``a``
  different topics, but the subscription has already decided what reaches us; here the
  slash is a firmware's habit (``/rtls/gateways/...``), and refusing it would lose readings
  over a typo, not protect anything.
- Empty segments (``rtls/gateways//beacon``) are refused: no gateway is named by nothing.
"""

from functools import lru_cache

from securityvision.domain.errors import InvalidInput
from securityvision.domain.rtls import GatewayTopic, Rejection, normalize_mac

__all__ = ["TOPIC_KINDS", "parse_gateway_topic"]

TOPIC_KINDS = frozenset({"beacon", "detection", "status", "heartbeat"})
_SHARE_PREFIX = "$share/"
_MAX_DETAIL = 120
_MAX_DETAIL_TOPIC = 72
_MAX_CACHED_TOPIC = 256
_SHORT_FORM = 1
_SHORT_FORM_WITH_KIND = 2
_LONG_FORM = 5
_LONG_FORM_WITH_KIND = 6


def parse_gateway_topic(topic: str, prefix: str) -> GatewayTopic | Rejection:
    """Where a message came from, or ``Rejection("unknown_topic")`` when its topic is no
    gateway's.

    Results are cached: a site's gateways publish on a few hundred topics, millions of times.
    Only short topics are, so that a flood of long made-up ones cannot fill the memory.
    """
    clean = _clean_prefix(prefix)
    if len(topic) <= _MAX_CACHED_TOPIC:
        return _parse_cached(topic, clean)
    return _parse(topic, clean)


def _clean_prefix(prefix: str) -> str:
    # Accept the subscription filter itself ("rtls/gateways/#") as readily as the prefix.
    return prefix.removesuffix("#").strip("/")


def _parse(topic: str, prefix: str) -> GatewayTopic | Rejection:
    path = _without_share(topic).removeprefix("/")
    head = prefix + "/" if prefix else ""
    if not path.startswith(head):
        return _unknown(topic, f"not under {prefix[:24]!r}")
    segments = path[len(head) :].split("/")
    if "" in segments:
        return _unknown(topic, "empty segment")
    count = len(segments)
    if count in (_SHORT_FORM, _SHORT_FORM_WITH_KIND):
        return _gateway(topic, segments[0], segments[1:])
    if count in (_LONG_FORM, _LONG_FORM_WITH_KIND) and segments[3].lower() == "gateway":
        tenant, building, floor = segments[:3]
        return _gateway(
            topic, segments[4], segments[5:], tenant=tenant, building=building, floor=floor
        )
    return _unknown(topic, "no gateway pattern")


_parse_cached = lru_cache(maxsize=4096)(_parse)


def _without_share(topic: str) -> str:
    if not topic.startswith(_SHARE_PREFIX):
        return topic
    _group, _slash, rest = topic[len(_SHARE_PREFIX) :].partition("/")
    return rest


def _gateway(
    topic: str,
    gateway_id: str,
    kind_segments: list[str],
    *,
    tenant: str | None = None,
    building: str | None = None,
    floor: str | None = None,
) -> GatewayTopic | Rejection:
    kind: str | None = None
    if kind_segments:
        kind = kind_segments[0].lower()
        if kind not in TOPIC_KINDS:
            return _unknown(topic, "unknown kind")
    return GatewayTopic(
        gateway_id=gateway_id,
        gateway_mac=_mac_or_none(gateway_id),
        kind=kind,
        tenant=tenant,
        building=building,
        floor=floor,
    )


def _mac_or_none(gateway_id: str) -> str | None:
    try:
        return normalize_mac(gateway_id)
    except InvalidInput:
        return None


def _unknown(topic: str, why: str) -> Rejection:
    detail = f"{why}: {topic[:_MAX_DETAIL_TOPIC]!r}"
    return Rejection(reason="unknown_topic", detail=detail[:_MAX_DETAIL])
