"""The portal's notifications: the list behind the header's bell (each person's own), marking
them read, and the form where a person chooses portal and e-mail per kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from accrue.domain.notices import Channels, NoticeKind
from accrue.store import notify
from accrue.web.pages import back, page, pages
from accrue.web.session import Checked, Viewer

KINDS = [kind.value for kind in NoticeKind]


@pages.read("/notifications", "self:read", response_class=HTMLResponse)
def notifications(request: Request, viewer: Viewer):
    """The viewer's notifications, newest first, unread ones marked."""
    found = notify.inbox(viewer.books, viewer.user.username)
    return page(request, "notifications.html", user=viewer.user, notifications=found)


@pages.write("/notifications/read", "self:read")
def mark_read(
    request: Request,
    viewer: Viewer,
    _: Checked,
    notification: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
):
    """Mark one notification read, or all of them when none is named."""
    ids = None if notification is None else [notification]
    marked = notify.mark_read(viewer.books, viewer.user.username, ids)
    return back(request, "/notifications", f"{marked} marked read")


@pages.read("/notifications/preferences", "self:read", response_class=HTMLResponse)
def preferences(request: Request, viewer: Viewer):
    """Each kind of notification with the viewer's channels, as a form."""
    chosen = notify.channels_of(viewer.books, viewer.user.username)
    return page(request, "preferences.html", user=viewer.user, chosen=chosen)


@pages.write("/notifications/preferences", "self:read")
def choose(
    request: Request,
    viewer: Viewer,
    _: Checked,
    portal: Annotated[list[str], Form(max_length=len(KINDS))] = [],  # noqa: B006
    email: Annotated[list[str], Form(max_length=len(KINDS))] = [],  # noqa: B006
):
    """The kinds ticked for each channel; a kind left unticked is not sent that way."""
    wanted = {kind: Channels(kind.value in portal, kind.value in email) for kind in NoticeKind}
    notify.choose(viewer.books, viewer.user.username, wanted)
    return back(request, "/notifications/preferences", "your choices are saved")
