"""The caller's own notifications and their choice of channels per kind: every route here
answers about the person calling, so nobody reads or marks another person's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body

from accrue.api.lists import Listed, Page, listing
from accrue.api.schemas import NotificationOut, PreferenceIn, PreferenceOut, ReadIn, ReadOut
from accrue.api.security import Caller, Routes
from accrue.domain.notices import Channels, NoticeKind
from accrue.store import notify
from accrue.store.tables import NotificationRow

routes = Routes(tags=["notifications"])


@routes.read(
    "/notifications",
    "self:read",
    response_model=Page[NotificationOut],
    sort=("id", "kind", "created_at", "read_at"),
)
def notifications(context: Caller, paging: Listed, unread: bool = False):
    """What the books told the caller, shown in the portal (newest first by `sort=-id`);
    `unread=true` for those not marked read yet."""
    with context.books.session() as session:
        query = notify.shown_to(session, context.user.username, unread)
        return listing(
            session, query, NotificationRow, paging, NotificationOut.model_validate, "notifications"
        )


@routes.write("/notifications/read", "self:read", response_model=ReadOut)
def mark_read(context: Caller, which: ReadIn):
    """Mark the caller's notifications read: these ids, or all of them."""
    return ReadOut(marked=notify.mark_read(context.books, context.user.username, which.ids))


@routes.read(
    "/notifications/preferences",
    "self:read",
    response_model=list[PreferenceOut],
    operation_id="notification_preferences",
)
def preferences(context: Caller):
    """For each kind of notification, whether the caller gets it in the portal and by e-mail
    (their choice, or the default)."""
    return _out(notify.channels_of(context.books, context.user.username))


@routes.replace(
    "/notifications/preferences",
    "self:read",
    response_model=list[PreferenceOut],
    operation_id="choose_notification_channels",
)
def choose(context: Caller, chosen: Annotated[list[PreferenceIn], Body(max_length=100)]):
    """Choose the channels of the kinds given (the others stay as they are)."""
    wanted = {c.kind: Channels(c.portal, c.email) for c in chosen}
    return _out(notify.choose(context.books, context.user.username, wanted))


def _out(channels: dict[NoticeKind, Channels]) -> list[PreferenceOut]:
    return [
        PreferenceOut(kind=kind, label=kind.label, portal=c.portal, email=c.email)
        for kind, c in channels.items()
    ]
