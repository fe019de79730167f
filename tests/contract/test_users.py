"""The user repository and login attempts behave the same on every adapter."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from securityvision.application.ports import Storage
from securityvision.domain.errors import Conflict
from securityvision.domain.identity import NewUser, Role


def new_user(
    email: str, role: Role = Role.OPERATOR, *, is_active: bool = True, is_superuser: bool = False
) -> NewUser:
    return NewUser(
        email=email,
        full_name="Some One",
        hashed_password="hash",
        role=role,
        is_active=is_active,
        is_superuser=is_superuser,
    )


async def test_a_stored_user_reads_back_by_id_and_by_email(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        added = await uow.users.add(new_user("ana@example.com", Role.ADMIN))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.users.get(added.id) == added
        assert await uow.users.get_by_email("ana@example.com") == added
        assert await uow.users.get(added.id + 1000) is None
    assert added.role is Role.ADMIN
    assert added.created_at.tzinfo is not None


async def test_duplicate_emails_conflict_whatever_their_case(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.users.add(new_user("ana@example.com"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.users.add(new_user("ANA@example.com"))
    assert caught.value.code == "email_taken"


async def test_users_list_in_id_order_with_skip_and_limit(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        ids = [(await uow.users.add(new_user(f"u{i}@example.com"))).id for i in range(5)]
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [u.id for u in await uow.users.list()] == ids
        assert [u.id for u in await uow.users.list(skip=1, limit=2)] == ids[1:3]
        assert await uow.users.count() == 5


async def test_update_persists_every_field_and_moves_updated_at(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        added = await uow.users.add(new_user("ana@example.com"))
        await uow.commit()
    changed = msgspec.structs.replace(
        added,
        full_name="Ana Maria",
        role=Role.VIEWER,
        is_active=False,
        chatwoot_agent_id=42,
        hashed_password="new-hash",
    )
    async with storage.unit_of_work() as uow:
        saved = await uow.users.update(changed)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        again = await uow.users.get(added.id)
    assert again == saved
    assert (saved.full_name, saved.role, saved.is_active, saved.chatwoot_agent_id) == (
        "Ana Maria",
        Role.VIEWER,
        False,
        42,
    )
    assert saved.hashed_password == "new-hash"
    assert saved.updated_at >= added.updated_at
    assert saved.created_at == added.created_at


async def test_delete_removes_once(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        added = await uow.users.add(new_user("ana@example.com"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.users.delete(added.id) is True
        assert await uow.users.delete(added.id) is False
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.users.get(added.id) is None


async def test_admins_are_counted_by_role_or_superuser_flag_when_active(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        await uow.users.add(new_user("a@example.com", Role.ADMIN))
        await uow.users.add(new_user("b@example.com", Role.SUPERADMIN))
        await uow.users.add(new_user("c@example.com", Role.OPERATOR, is_superuser=True))
        await uow.users.add(new_user("d@example.com", Role.ADMIN, is_active=False))
        await uow.users.add(new_user("e@example.com", Role.OPERATOR))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.users.count_admins() == 3


async def test_work_not_committed_is_rolled_back(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.users.add(new_user("gone@example.com"))

    async def fail_midway() -> None:
        async with storage.unit_of_work() as uow:
            await uow.users.add(new_user("boom@example.com"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    async with storage.unit_of_work() as uow:
        assert await uow.users.count() == 0


async def test_login_failures_are_kept_per_key_in_time_order(storage: Storage) -> None:
    attempts = storage.login_attempts
    t0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    await attempts.record_failure(["account:a", "address:1"], t0 + timedelta(minutes=2))
    await attempts.record_failure(["account:a"], t0)
    await attempts.record_failure(["account:b"], t0 + timedelta(minutes=1))
    assert list(await attempts.failures_since("account:a", t0)) == [
        t0,
        t0 + timedelta(minutes=2),
    ]
    assert list(await attempts.failures_since("account:a", t0 + timedelta(minutes=1))) == [
        t0 + timedelta(minutes=2)
    ]
    await attempts.clear("account:a")
    assert list(await attempts.failures_since("account:a", t0)) == []
    assert len(await attempts.failures_since("address:1", t0)) == 1
    assert len(await attempts.failures_since("account:b", t0)) == 1
