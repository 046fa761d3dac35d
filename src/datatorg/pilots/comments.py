"""Public comments on ideas, with reporting and moderation.

Anyone signed in comments; anyone signed in may report a comment (once); coordinators hide a
comment with a reason that stays visible in its place, or restore it. Hidden text is shown
to nobody but moderators.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, NotFound
from datatorg.identity.actor import Actor
from datatorg.pilots import policies
from datatorg.pilots.common import names, page_of
from datatorg.pilots.ideas import get_idea
from datatorg.pilots.models import Comment, CommentFlag, CommentStatus
from datatorg.pilots.schemas import CommentCreate, CommentRead, Moderation
from datatorg.web.i18n import gettext as _


def add_comment(
    *, session: Session, actor: Actor, idea_id: uuid.UUID, data: CommentCreate
) -> Comment:
    if not policies.can_comment(actor):
        raise Forbidden(_("Sign in to comment."))
    idea = get_idea(session=session, idea_id=idea_id)
    comment = Comment(idea_id=idea.id, author_id=actor.user_id, body=data.body)
    session.add(comment)
    session.flush()
    return comment


def get_comment(*, session: Session, comment_id: uuid.UUID) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(_("No such comment."))
    return comment


def list_comments(
    *, session: Session, idea_id: uuid.UUID, page: int = 1, per_page: int = 50
) -> tuple[list[Comment], int]:
    """An idea's comments, oldest first (hidden ones too: their place and reason show)."""
    stmt = (
        select(Comment)
        .where(Comment.idea_id == idea_id)
        .order_by(Comment.created_at.asc(), Comment.id)
    )
    return page_of(session, stmt, page, per_page)


def count_visible(session: Session, idea_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not idea_ids:
        return {}
    rows = session.execute(
        select(Comment.idea_id, func.count())
        .where(Comment.idea_id.in_(idea_ids), Comment.status == CommentStatus.visible)
        .group_by(Comment.idea_id)
    )
    return {r[0]: int(r[1]) for r in rows}


def flag_comment(*, session: Session, actor: Actor, comment_id: uuid.UUID) -> Comment:
    """Report a comment to the moderators (once per person)."""
    if not policies.can_comment(actor):
        raise Forbidden(_("Sign in to report a comment."))
    comment = get_comment(session=session, comment_id=comment_id)
    try:
        with session.begin_nested():
            session.add(CommentFlag(comment_id=comment.id, user_id=actor.user_id))
            session.flush()
    except IntegrityError:
        raise Conflict(_("You have already reported this comment.")) from None
    session.execute(update(Comment).where(Comment.id == comment.id).values(flags=Comment.flags + 1))
    session.refresh(comment)
    return comment


def moderate(*, session: Session, actor: Actor, comment_id: uuid.UUID, data: Moderation) -> Comment:
    """Hide a comment (with a reason everyone sees) or restore it (coordinators)."""
    if not policies.can_moderate(actor):
        raise Forbidden(_("Only living-lab coordinators moderate comments."))
    comment = get_comment(session=session, comment_id=comment_id)
    if data.action == "hide":
        comment.status = CommentStatus.hidden
        comment.moderation_reason = data.reason
    else:
        comment.status = CommentStatus.visible
        comment.moderation_reason = ""
        comment.flags = 0
    comment.moderated_by = actor.user_id
    comment.moderated_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        action=f"pilots.comment.{data.action}",
        target_type="comment",
        target_id=str(comment.id),
    )
    session.flush()
    return comment


def moderation_queue(
    *, session: Session, actor: Actor, page: int = 1, per_page: int = 20
) -> tuple[list[Comment], int]:
    """Reported comments that are still visible, most reported first."""
    if not policies.can_moderate(actor):
        raise Forbidden(_("Only living-lab coordinators moderate comments."))
    stmt = (
        select(Comment)
        .where(Comment.flags > 0, Comment.status == CommentStatus.visible)
        .order_by(Comment.flags.desc(), Comment.created_at, Comment.id)
    )
    return page_of(session, stmt, page, per_page)


def comment_reads(session: Session, actor: Actor, rows: list[Comment]) -> list[CommentRead]:
    """Comments as shown to ``actor``: hidden text only to moderators."""
    who = names(session, [c.author_id for c in rows])
    moderator = policies.can_moderate(actor)
    out = []
    for c in rows:
        hidden = c.status == CommentStatus.hidden
        out.append(
            CommentRead(
                id=c.id,
                author=who.get(c.author_id, _("Former user")) if c.author_id else _("Former user"),
                body="" if hidden and not moderator else c.body,
                created_at=c.created_at,
                hidden=hidden,
                moderation_reason=c.moderation_reason,
                flags=c.flags if moderator else 0,
            )
        )
    return out
