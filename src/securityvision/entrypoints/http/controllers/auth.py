"""``/api/v1/auth``: login, the first signup, and who am I."""

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from securityvision.application.identity import Login, SignUp, UserDraft
from securityvision.entrypoints.http.auth import PUBLIC, current_user
from securityvision.entrypoints.http.schemas import (
    LoginRequest,
    TokenResponse,
    UserCreate,
    UserRead,
)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", opt={PUBLIC: True}, status_code=HTTP_200_OK)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        login: NamedDependency[Login],
    ) -> TokenResponse:
        """Exchange an e-mail and password for a bearer token (JSON body, as the original)."""
        address = request.client.host if request.client else "unknown"
        token = await login.execute(data.email, data.password, address)
        return TokenResponse(access_token=token.access_token, token_type=token.token_type)

    @post("/signup", opt={PUBLIC: True}, status_code=HTTP_201_CREATED)
    async def signup(
        self, data: JSONBody[UserCreate], sign_up: NamedDependency[SignUp]
    ) -> UserRead:
        """Create the very first user (SUPERADMIN); only in dev mode and only while no user
        exists."""
        user = await sign_up.execute(
            UserDraft(email=data.email, password=data.password, full_name=data.full_name)
        )
        return UserRead.of(user)

    @get("/me")
    async def me(self, request: Request[Any, Any, Any]) -> UserRead:
        """The calling user."""
        return UserRead.of(current_user(request))
