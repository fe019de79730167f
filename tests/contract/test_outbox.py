"""The outbox and the relay's locks behave the same on every adapter."""

from datetime import timedelta

from securityvision.application.ports import Storage
from securityvision.domain.outbox import NewOutboxMessage, OutboxBacklog

HOUR = timedelta(hours=1)


def message(destination: str, payload: bytes = b"{}", channel: str = "mqtt") -> NewOutboxMessage:
    return NewOutboxMessage(
        channel=channel,
        destination=destination,
        payload=payload,
        options={"qos": 1, "retain": True},
    )


async def add(storage: Storage, *messages: NewOutboxMessage) -> list[int]:
    async with storage.unit_of_work() as uow:
        ids = [await uow.outbox.add(m) for m in messages]
        await uow.commit()
    return ids


async def due_ids(storage: Storage, channel: str = "mqtt", limit: int = 100) -> list[int]:
    async with storage.unit_of_work() as uow:
        return [m.id for m in await uow.outbox.due(channel, limit=limit)]


async def test_a_message_reads_back_as_added_with_nothing_attempted(storage: Storage) -> None:
    payload = b'{"name": "S\xc3\xa3o Paulo"}\x00\xff'  # bytes as they are, not text
    (added,) = await add(storage, message("a/b", payload))
    async with storage.unit_of_work() as uow:
        (stored,) = await uow.outbox.due("mqtt")
    assert stored.id == added
    assert (stored.channel, stored.destination, stored.payload) == ("mqtt", "a/b", payload)
    assert stored.options == {"qos": 1, "retain": True}
    assert (stored.qos, stored.retain) == (1, True)
    assert (stored.attempts, stored.last_error) == (0, None)
    assert stored.created_at.tzinfo is not None
    assert stored.next_attempt_at <= stored.created_at + timedelta(seconds=1)


async def test_only_a_committed_unit_of_work_adds_messages(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.outbox.add(message("rolled/back"))
    assert await due_ids(storage) == []
    ids = await add(storage, message("kept"))
    assert await due_ids(storage) == ids


async def test_due_messages_come_in_the_order_added_per_channel_and_up_to_the_limit(
    storage: Storage,
) -> None:
    first, other_channel, second, third = await add(
        storage,
        message("t/1"),
        message("hook-1", channel="webhook"),
        message("t/2"),
        message("t/1"),
    )
    assert first < second < third
    assert await due_ids(storage) == [first, second, third]
    assert await due_ids(storage, limit=2) == [first, second]
    assert await due_ids(storage, channel="webhook") == [other_channel]
    assert await due_ids(storage, channel="chatwoot") == []


async def test_delivered_messages_leave_the_outbox(storage: Storage) -> None:
    first, second = await add(storage, message("t"), message("t"))
    async with storage.unit_of_work() as uow:
        await uow.outbox.mark_delivered([first])
        await uow.commit()
    assert await due_ids(storage) == [second]


async def test_a_failed_message_holds_back_its_destination_until_its_retry(
    storage: Storage,
) -> None:
    failing, behind, elsewhere = await add(storage, message("t/a"), message("t/a"), message("t/b"))
    async with storage.unit_of_work() as uow:
        await uow.outbox.mark_failed(failing, error="ConnectionError: refused", retry_in=HOUR)
        await uow.commit()
    # Nothing of t/a may overtake the failed message; t/b goes on.
    assert await due_ids(storage) == [elsewhere]
    async with storage.unit_of_work() as uow:
        await uow.outbox.mark_failed(failing, error="e" * 2000, retry_in=timedelta(0))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        due = await uow.outbox.due("mqtt")
    assert [m.id for m in due] == [failing, behind, elsewhere]
    assert due[0].attempts == 2
    assert due[0].last_error == "e" * 500
    assert due[1].attempts == 0


async def test_the_backlog_counts_what_waits_and_how_old_the_oldest_is(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        assert await uow.outbox.backlog() == OutboxBacklog(count=0, oldest_age=None)
    await add(storage, message("t"), message("t"), message("h", channel="webhook"))
    async with storage.unit_of_work() as uow:
        everything = await uow.outbox.backlog()
        mqtt = await uow.outbox.backlog("mqtt")
        chatwoot = await uow.outbox.backlog("chatwoot")
    assert (everything.count, mqtt.count, chatwoot.count) == (3, 2, 0)
    assert everything.oldest_age is not None
    assert timedelta(0) <= everything.oldest_age < HOUR
    assert chatwoot.oldest_age is None


async def test_a_dead_letter_is_kept_apart_and_holds_nothing_back(storage: Storage) -> None:
    refused, behind = await add(storage, message("t/a"), message("t/a"))
    async with storage.unit_of_work() as uow:
        await uow.outbox.mark_dead(refused, error="DeliveryRejected: HTTP 400")
        await uow.commit()
    # Never attempted again, and the destination's next message goes on.
    assert await due_ids(storage) == [behind]
    async with storage.unit_of_work() as uow:
        backlog = await uow.outbox.backlog("mqtt")
        other = await uow.outbox.backlog("webhook")
    assert (backlog.count, backlog.dead, other.dead) == (1, 1, 0)
    async with storage.unit_of_work() as uow:
        await uow.outbox.mark_delivered([behind])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.outbox.backlog("mqtt") == OutboxBacklog(count=0, dead=1)


async def test_a_lock_has_one_holder_at_a_time(storage: Storage) -> None:
    locks = storage.locks
    async with locks.try_hold("outbox-relay:mqtt") as first:
        assert first is not None
        assert await first.held()
        async with locks.try_hold("outbox-relay:mqtt") as second:
            assert second is None
        async with locks.try_hold("outbox-relay:webhook") as other:
            assert other is not None
    async with locks.try_hold("outbox-relay:mqtt") as again:
        assert again is not None
