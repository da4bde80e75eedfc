"""User directory use cases (the ``users`` side of the GraphQL schema)."""

from __future__ import annotations

from collections.abc import Sequence

from leadgraph.domain.errors import NotFound
from leadgraph.domain.pagination import Page, PageRequest
from leadgraph.domain.ports import UserRepository
from leadgraph.domain.users import Principal, PrincipalKind, Role, User
from leadgraph.resolvers.auth import AuthUseCases, require_admin


class UserUseCases:
    def __init__(self, users: UserRepository, auth: AuthUseCases) -> None:
        self._users = users
        self._auth = auth

    async def me(self, actor: Principal) -> User | None:
        if actor.kind is not PrincipalKind.USER:
            return None
        return await self._users.get(actor.id)

    async def get(self, actor: Principal, user_id: str) -> User:
        user = await self._users.get(user_id)
        if user is None:
            raise NotFound("User", user_id)
        return user

    async def load_many(self, user_ids: Sequence[str]) -> list[User | None]:
        found = {user.id: user for user in await self._users.get_many(user_ids)}
        return [found.get(user_id) for user_id in user_ids]

    async def search(self, actor: Principal, page: PageRequest) -> Page[User]:
        return await self._users.page(page)

    async def create(
        self, actor: Principal, *, email: str, password: str, name: str | None,
        username: str | None, admin: bool | None,
    ) -> User:
        require_admin(actor)
        return await self._auth.register(
            email=email, password=password, name=name, username=username,
            # None: the registration rule decides (the first user becomes the admin).
            role=None if admin is None else (Role.ADMIN if admin else Role.AGENT),
        )
