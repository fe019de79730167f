"""How fast gateway payloads decode: messages/s and readings/s per payload format.

Each format's message carries ~100 readings where the format batches (readings, minew,
ingics, aprilbrother) and one where it does not (flat, espresense); the topic is parsed
once per message too, as the worker does. Run: ``python bench/decode.py``.
"""

import sys
import time
from datetime import UTC, datetime

from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.simulator import (
    PAYLOAD_FORMATS,
    SimulatedGateway,
    TrafficSimulator,
    encode_readings,
)
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.domain.rtls import GatewayTopic

PREFIX = "rtls/gateways"
READINGS_PER_MESSAGE = 100
SECONDS_PER_FORMAT = 1.0


def sample(payload_format: str) -> tuple[str, bytes, int]:
    simulator = TrafficSimulator(gateways=1, tags=READINGS_PER_MESSAGE, seed=7)
    gateway = SimulatedGateway(
        index=0, mac=simulator.gateways[0].mac, payload_format=payload_format, floor="1"
    )
    readings = simulator.readings(datetime(2026, 11, 29, 10, tzinfo=UTC), READINGS_PER_MESSAGE)
    publication = encode_readings(gateway, readings, prefix=PREFIX)[0]
    return publication.topic, publication.payload, publication.readings


def measure(topic: str, payload: bytes) -> float:
    """Messages per second, over about SECONDS_PER_FORMAT."""
    where = parse_gateway_topic(topic, PREFIX)
    assert isinstance(where, GatewayTopic), where
    assert decode_gateway_message(where, payload).observations, "the sample must decode"
    count = 0
    batch = 200
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS_PER_FORMAT:
        for _ in range(batch):
            where = parse_gateway_topic(topic, PREFIX)
            assert isinstance(where, GatewayTopic)
            decode_gateway_message(where, payload)
        count += batch
    return count / elapsed


def main() -> None:
    print(f"Python {sys.version.split()[0]}, ~{SECONDS_PER_FORMAT:g} s per format")
    print(
        f"{'format':<14}{'readings/msg':>13}{'bytes/msg':>11}{'messages/s':>13}{'readings/s':>13}"
    )
    for payload_format in PAYLOAD_FORMATS:
        topic, payload, readings = sample(payload_format)
        rate = measure(topic, payload)
        print(
            f"{payload_format:<14}{readings:>13}{len(payload):>11}"
            f"{rate:>13,.0f}{rate * readings:>13,.0f}"
        )


if __name__ == "__main__":
    main()
