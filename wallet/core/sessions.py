"""The wallet's own session class.

The wallet's session listeners -- work handed on after a commit
(:mod:`wallet.core.tasks`), the money movements reported to the observer
(:mod:`wallet.core.observe`), PIN tries written again after a rollback
(``wallet.identity.pin_tries``) -- are registered on :class:`WalletSession`,
never on SQLAlchemy's ``Session``: another library's sessions in the same
process (the fake bank's, ledgerlib's tests) run none of them, and importing
a module changes no class. The composition root (``wallet.db``) registers
them, once, with :func:`install_session_hooks`; every session doing wallet
work is a ``WalletSession`` (``wallet.db.get_session_factory`` makes them).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from sqlalchemy import event
from sqlalchemy.orm import Session

#: A listener: the session event's name and the function it calls.
SessionHook = tuple[str, Callable[..., Any]]

__all__ = ["SessionHook", "WalletSession", "install_session_hooks"]


class WalletSession(Session):
    """A session whose commits run the wallet's hooks."""

    #: Set by install_session_hooks: a session made before would silently
    #: drop its after-commit work, so making one is refused instead.
    hooks_installed: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not WalletSession.hooks_installed:
            raise RuntimeError("the wallet's session hooks are not installed: import wallet.db "
                               "(or call install_session_hooks) before making a WalletSession")
        super().__init__(*args, **kwargs)


def install_session_hooks(hooks: Iterable[SessionHook]) -> None:
    """Register ``hooks`` on WalletSession (each once, however often called)."""
    for name, listener in hooks:
        if not event.contains(WalletSession, name, listener):
            event.listen(WalletSession, name, listener)
    WalletSession.hooks_installed = True
