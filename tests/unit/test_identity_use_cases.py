"""Identity use cases on the in-memory adapters."""

import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.identity import UserChanges, UserDraft
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    PermissionDenied,
    TooManyAttempts,
)
from securityvision.domain.identity import NewUser, Role, User
from tests.support.clock import FakeClock

PASSWORD = "correct horse battery"


class CountingHasher:
    """A cheap hasher that records how often each path ran, to prove equal work."""

    def __init__(self) -> None:
        self.verifications = 0

    async def hash(self, password: str) -> str:
        return f"hashed:{password}"

    async def verify(self, hashed: str, password: str) -> bool:
        self.verifications += 1
        return hashed == f"hashed:{password}"

    async def verify_dummy(self, password: str) -> None:
        self.verifications += 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def container(clock: FakeClock, hasher: CountingHasher) -> Container:
    settings = load_settings({"SVPOS_SECRET_KEY": "k" * 48}, env_file=None, dev=True)
    return build_container(
        settings, storage=InMemoryStorage(clock), clock=clock, password_hasher=hasher
    )


async def make_user(
    container: Container, email: str, role: Role = Role.OPERATOR, *, is_active: bool = True
) -> User:
    draft = UserDraft(email=email, password=PASSWORD, role=role, is_active=is_active)
    return await container.create_user().execute(draft, actor=None)


async def test_login_with_the_right_password_issues_a_token_for_that_user(
    container: Container,
) -> None:
    ana = await make_user(container, "ana@example.com")
    token = await container.login().execute("ANA@example.com ", PASSWORD, "10.0.0.1")
    assert token.token_type == "bearer"
    assert (await container.authenticate().execute(token.access_token)).id == ana.id


async def test_unknown_user_wrong_password_and_inactive_get_the_same_answer_and_work(
    container: Container, hasher: CountingHasher
) -> None:
    await make_user(container, "ana@example.com")
    await make_user(container, "old@example.com", is_active=False)
    answers = []
    for email, password in [
        ("nobody@example.com", PASSWORD),
        ("ana@example.com", "wrong password"),
        ("old@example.com", PASSWORD),
    ]:
        before = hasher.verifications
        with pytest.raises(AuthenticationFailed) as caught:
            await container.login().execute(email, password, "10.0.0.1")
        answers.append((caught.value.code, caught.value.detail, hasher.verifications - before))
    assert len(set(answers)) == 1, answers


async def test_eleven_failures_lock_the_account_even_against_the_right_password(
    container: Container, clock: FakeClock
) -> None:
    await make_user(container, "ana@example.com")
    for i in range(10):
        with pytest.raises(AuthenticationFailed):
            await container.login().execute("ana@example.com", "nope", f"10.0.0.{i}")
    with pytest.raises(TooManyAttempts) as caught:
        await container.login().execute("ana@example.com", PASSWORD, "10.0.0.99")
    assert 0 < caught.value.retry_after <= 15 * 60 + 1
    clock.advance(minutes=15, seconds=1)
    assert await container.login().execute("ana@example.com", PASSWORD, "10.0.0.99")


async def test_fifty_failures_from_one_address_lock_that_address_for_every_account(
    container: Container,
) -> None:
    await make_user(container, "ana@example.com")
    for i in range(50):
        with pytest.raises(AuthenticationFailed):
            await container.login().execute(f"user{i}@example.com", "nope", "10.9.9.9")
    with pytest.raises(TooManyAttempts):
        await container.login().execute("ana@example.com", PASSWORD, "10.9.9.9")
    assert await container.login().execute("ana@example.com", PASSWORD, "10.1.1.1")


async def test_a_success_forgets_the_accounts_earlier_failures(container: Container) -> None:
    await make_user(container, "ana@example.com")
    for _ in range(9):
        with pytest.raises(AuthenticationFailed):
            await container.login().execute("ana@example.com", "nope", "10.0.0.1")
    await container.login().execute("ana@example.com", PASSWORD, "10.0.0.1")
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            await container.login().execute("ana@example.com", "nope", "10.0.0.1")


async def test_a_deactivated_user_loses_access_with_a_token_in_hand(container: Container) -> None:
    ana = await make_user(container, "ana@example.com")
    token = (await container.login().execute("ana@example.com", PASSWORD, "h")).access_token
    await container.update_user().execute(ana.id, UserChanges(is_active=False), actor=None)
    with pytest.raises(AuthenticationFailed):
        await container.authenticate().execute(token)


async def test_an_admin_cannot_create_or_promote_a_superadmin(container: Container) -> None:
    admin = await make_user(container, "admin@example.com", Role.ADMIN)
    op = await make_user(container, "op@example.com")
    for draft in [
        UserDraft(email="x@example.com", password=PASSWORD, role=Role.SUPERADMIN),
        UserDraft(email="y@example.com", password=PASSWORD, is_superuser=True),
    ]:
        with pytest.raises(PermissionDenied):
            await container.create_user().execute(draft, actor=admin)
    for changes in [UserChanges(role=Role.SUPERADMIN), UserChanges(is_superuser=True)]:
        with pytest.raises(PermissionDenied):
            await container.update_user().execute(op.id, changes, actor=admin)
    assert (await container.update_user().execute(op.id, UserChanges(role=Role.ADMIN), admin)).role


async def test_an_admin_cannot_touch_a_superadmin_but_a_superadmin_can(
    container: Container,
) -> None:
    admin = await make_user(container, "admin@example.com", Role.ADMIN)
    root = await make_user(container, "root@example.com", Role.SUPERADMIN)
    other = await make_user(container, "root2@example.com", Role.SUPERADMIN)
    with pytest.raises(PermissionDenied):
        await container.update_user().execute(root.id, UserChanges(full_name="x"), admin)
    with pytest.raises(PermissionDenied):
        await container.delete_user().execute(root.id, admin)
    await container.delete_user().execute(other.id, root)


async def test_nobody_deletes_demotes_or_deactivates_themselves(container: Container) -> None:
    root = await make_user(container, "root@example.com", Role.SUPERADMIN)
    with pytest.raises(Conflict):
        await container.delete_user().execute(root.id, root)
    with pytest.raises(PermissionDenied):
        await container.update_user().execute(root.id, UserChanges(role=Role.ADMIN), root)
    with pytest.raises(PermissionDenied):
        await container.update_user().execute(root.id, UserChanges(is_active=False), root)


async def test_duplicate_emails_are_refused_whatever_their_case(container: Container) -> None:
    await make_user(container, "ana@example.com")
    with pytest.raises(Conflict):
        await make_user(container, "Ana@Example.com")


async def test_short_passwords_are_refused(container: Container) -> None:
    with pytest.raises(InvalidInput):
        await container.create_user().execute(
            UserDraft(email="a@example.com", password="short"), actor=None
        )


async def test_bootstrap_is_idempotent_and_never_overwrites(container: Container) -> None:
    bootstrap = container.bootstrap_superadmin()
    first = await bootstrap.execute("root@example.com", "Root", PASSWORD)
    second = await bootstrap.execute("root@example.com", "Root", "another password")
    assert first.created
    assert not second.created
    async with container.storage().unit_of_work() as uow:
        assert await uow.users.count() == 1
    assert await container.login().execute("root@example.com", PASSWORD, "h")


async def test_generated_bootstrap_password_is_returned_once_and_works(
    container: Container,
) -> None:
    bootstrap = container.bootstrap_superadmin()
    first = await bootstrap.execute("admin@securityvision.local", "Admin", None)
    again = await bootstrap.execute("admin@securityvision.local", "Admin", None)
    assert first.generated_password
    assert again.generated_password is None
    assert await container.login().execute(
        "admin@securityvision.local", first.generated_password, "h"
    )


async def test_no_generated_admin_appears_where_admins_already_exist(
    container: Container,
) -> None:
    await make_user(container, "boss@example.com", Role.ADMIN)
    result = await container.bootstrap_superadmin().execute("admin@securityvision.local", "A", None)
    assert not result.created


async def test_signup_creates_the_first_superadmin_only_while_nobody_exists(
    container: Container,
) -> None:
    first = await container.sign_up().execute(UserDraft(email="a@example.com", password=PASSWORD))
    assert first.role is Role.SUPERADMIN
    assert first.is_superuser
    with pytest.raises(PermissionDenied) as caught:
        await container.sign_up().execute(UserDraft(email="b@example.com", password=PASSWORD))
    assert caught.value.code == "signup_closed"


async def test_signup_is_refused_outside_dev_mode(clock: FakeClock) -> None:
    settings = load_settings({"SVPOS_SECRET_KEY": "k" * 48}, env_file=None)
    container = build_container(settings, storage=InMemoryStorage(clock))
    with pytest.raises(PermissionDenied) as caught:
        await container.sign_up().execute(UserDraft(email="a@example.com", password=PASSWORD))
    assert caught.value.code == "signup_disabled"


async def test_a_rolled_back_unit_of_work_leaves_nothing_behind(container: Container) -> None:
    storage = container.storage()
    async with storage.unit_of_work() as uow:
        await uow.users.add(NewUser(email="gone@example.com", full_name=None, hashed_password="h"))
    async with storage.unit_of_work() as uow:
        assert await uow.users.get_by_email("gone@example.com") is None
