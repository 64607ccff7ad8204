"""Who is calling, from the verified token's claims, and what that lets them see and do."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import Forbidden

ADMIN_SCOPE = "billing:admin"


@dataclass(frozen=True)
class Caller:
    user_id: str
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    def may_see(self, owner_id: str) -> bool:
        return self.is_admin or owner_id == self.user_id

    def scope_user(self, requested: str | None) -> str | None:
        """The user a read is limited to: anyone (None) or the requested one for admins, the caller otherwise."""
        if self.is_admin:
            return requested
        if requested and requested != self.user_id:
            raise Forbidden("Customers can only act on their own account")
        return self.user_id

    def acting_for(self, requested: str | None) -> str:
        """The user a write is for: the requested one for admins, only the caller themself otherwise."""
        if requested and requested != self.user_id and not self.is_admin:
            raise Forbidden("Customers can only act on their own account")
        return requested or self.user_id

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("This action is for billing administrators")
