"""``/api/v1/users``: user administration (ADMIN and SUPERADMIN)."""

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.identity import (
    CreateUser,
    DeleteUser,
    ListUsers,
    UpdateUser,
    UserChanges,
    UserDraft,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import current_user, requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas import UserCreate, UserRead, UserUpdate


class UsersController(Controller):
    path = "/users"
    tags = ["users"]
    guards = [requires(Role.ADMIN)]

    @get("/")
    async def list_users(
        self,
        request: Request[Any, Any, Any],
        list_users: NamedDependency[ListUsers],
        skip: Skip = 0,
        limit: Limit = 200,
    ) -> list[UserRead]:
        users = await list_users.execute(current_user(request), skip=skip, limit=limit)
        return [UserRead.of(u) for u in users]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_user(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[UserCreate],
        create_user: NamedDependency[CreateUser],
    ) -> UserRead:
        """Create a user; only a SUPERADMIN may create a SUPERADMIN."""
        draft = UserDraft(
            email=data.email,
            password=data.password,
            full_name=data.full_name,
            role=data.role,
            is_active=data.is_active,
            is_superuser=data.is_superuser,
            chatwoot_agent_id=data.chatwoot_agent_id,
        )
        return UserRead.of(await create_user.execute(draft, actor=current_user(request)))

    @patch("/{user_id:int}")
    async def update_user(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[int],
        data: JSONBody[UserUpdate],
        update_user: NamedDependency[UpdateUser],
    ) -> UserRead:
        """Change only the fields sent; ``password`` may be sent to reset it."""
        changes = UserChanges(
            full_name=data.full_name,
            role=data.role,
            is_active=data.is_active,
            is_superuser=data.is_superuser,
            chatwoot_agent_id=data.chatwoot_agent_id,
            password=data.password,
        )
        user = await update_user.execute(user_id, changes, actor=current_user(request))
        return UserRead.of(user)

    @delete("/{user_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def delete_user(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[int],
        delete_user: NamedDependency[DeleteUser],
    ) -> None:
        await delete_user.execute(user_id, actor=current_user(request))
