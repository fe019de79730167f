"""What was published to cam-bus, and cameras' uplinks, behave the same on every adapter."""

from datetime import UTC, datetime, timedelta

import pytest

from securityvision.application.ports import Storage
from securityvision.domain.cambus_publishing import (
    CameraPublication,
    StopReason,
    StreamState,
    Uplink,
    UplinkRequest,
)
from securityvision.domain.devices import DeviceType, NewDevice
from securityvision.domain.errors import Conflict

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
REQUEST = UplinkRequest(
    camera_id="fixa01",
    proxy_path="fixa01",
    central_path="default/predio_a/fixa01",
    central_host="mtx.example.com",
    central_srt_port=8890,
    ttl_seconds=2,
)


async def cameras(storage: Storage, *codes: str) -> list[int]:
    async with storage.unit_of_work() as uow:
        ids = [
            (await uow.devices.add(NewDevice(name=c, code=c, type=DeviceType.CAMERA))).id
            for c in codes
        ]
        await uow.commit()
    return ids


def publication(device_id: int, segment: str, digest: str = "d1") -> CameraPublication:
    return CameraPublication(
        device_id=device_id,
        device_segment=segment,
        topic=f"rtls/cameras/t/b/f/camera/{segment}/info",
        digest=digest,
    )


async def test_a_publication_is_kept_found_by_its_level_replaced_and_deleted(
    storage: Storage,
) -> None:
    [camera] = await cameras(storage, "fixa01")
    async with storage.unit_of_work() as uow:
        await uow.camera_publications.save(publication(camera, "fixa01"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.camera_publications.get(camera) == publication(camera, "fixa01")
        assert await uow.camera_publications.find_by_segment("fixa01") == publication(
            camera, "fixa01"
        )
        assert await uow.camera_publications.find_by_segment("FIXA01") is None
        await uow.camera_publications.save(publication(camera, "fixa02", "d2"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.camera_publications.get(camera) == publication(camera, "fixa02", "d2")
        assert await uow.camera_publications.find_by_segment("fixa01") is None
        await uow.camera_publications.delete(camera)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.camera_publications.get(camera) is None


async def test_two_cameras_cannot_hold_one_level(storage: Storage) -> None:
    first, second = await cameras(storage, "a", "b")
    async with storage.unit_of_work() as uow:
        await uow.camera_publications.save(publication(first, "cam_1"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as refused:
            await uow.camera_publications.save(publication(second, "cam_1"))
    assert refused.value.code == "camera_topic_taken"


async def test_a_publication_outlives_its_camera_until_deleted(storage: Storage) -> None:
    [camera] = await cameras(storage, "fixa01")
    async with storage.unit_of_work() as uow:
        await uow.camera_publications.save(publication(camera, "fixa01"))
        await uow.devices.delete(camera)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.camera_publications.get(camera) == publication(camera, "fixa01")


async def test_a_lease_reads_back_and_only_expired_running_ones_are_due(storage: Storage) -> None:
    first, second, third = await cameras(storage, "a", "b", "c")
    started = Uplink(device_id=first).started(
        topics="x/uplink", request=REQUEST, now=T0, renewal=False
    )
    async with storage.unit_of_work() as uow:
        await uow.camera_uplinks.save_lease(started)
        await uow.camera_uplinks.save_lease(
            Uplink(device_id=second).started(
                topics="y/uplink", request=REQUEST, now=T0 + timedelta(seconds=1), renewal=False
            )
        )
        await uow.camera_uplinks.save_lease(
            Uplink(device_id=third)
            .started(topics="z/uplink", request=REQUEST, now=T0, renewal=False)
            .stopped(T0, StopReason.REQUESTED)
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.camera_uplinks.get(first) == started
        assert await uow.camera_uplinks.get(first, for_update=True) == started
        assert await uow.camera_uplinks.expired(T0 + timedelta(seconds=1)) == []
        due = await uow.camera_uplinks.expired(T0 + timedelta(seconds=2))
        assert [u.device_id for u in due] == [first]
        later = await uow.camera_uplinks.expired(T0 + timedelta(seconds=10), limit=1)
        assert [u.device_id for u in later] == [first]
        assert set(await uow.camera_uplinks.of_devices([first, third, 999])) == {first, third}


async def test_the_stream_state_keeps_the_newest_report_and_survives_a_new_lease(
    storage: Storage,
) -> None:
    [camera] = await cameras(storage, "a")
    newer = StreamState(state="running", reported_at=T0, container_name="c", exit_code=0)
    older = StreamState(state="stopped", reported_at=T0 - timedelta(seconds=1), error="x")
    async with storage.unit_of_work() as uow:
        assert await uow.camera_uplinks.record_stream(camera, newer)
        assert not await uow.camera_uplinks.record_stream(camera, older)
        await uow.camera_uplinks.save_lease(
            Uplink(device_id=camera).started(
                topics="x/uplink", request=REQUEST, now=T0, renewal=False
            )
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found = await uow.camera_uplinks.get(camera)
    assert found is not None
    assert found.stream == newer
    assert found.request == REQUEST.document()


async def test_an_uplink_goes_with_its_camera(storage: Storage) -> None:
    [camera] = await cameras(storage, "a")
    async with storage.unit_of_work() as uow:
        await uow.camera_uplinks.save_lease(
            Uplink(device_id=camera).started(
                topics="x/uplink", request=REQUEST, now=T0, renewal=False
            )
        )
        await uow.devices.delete(camera)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.camera_uplinks.get(camera) is None
        assert await uow.camera_uplinks.expired(T0 + timedelta(days=1)) == []
        assert not await uow.camera_uplinks.record_stream(
            camera, StreamState(state="running", reported_at=T0)
        )
