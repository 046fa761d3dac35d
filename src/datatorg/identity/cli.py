"""``datatorg users …`` and ``datatorg tokens …``: accounts, roles and personal API tokens.

Registered in cli.py with ``commands(_settings)``: the command line hands over how it makes
its settings (logging, DuckDB bounds), so this domain never imports the command line above it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import click

from datatorg.db.base import utcnow
from datatorg.db.oneoff import write_session
from datatorg.errors import DatatorgError
from datatorg.identity.models import Role
from datatorg.settings import Settings

_settings_factory: list[Callable[[], Settings]] = []


def _settings() -> Settings:
    return _settings_factory[0]()


def commands(settings: Callable[[], Settings]) -> list[click.Command]:
    """The commands, making their settings with ``settings`` (the command line's)."""
    _settings_factory[:] = [settings]
    return [users, tokens]


@click.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the e-mail's local part).")
@click.option("--superuser", is_flag=True, help="Give the account every right.")
@click.option("--password", default=None, help="Password (asked for when left out).")
@click.option("--org", "org_slug", default=None, help="Organisation to give a role in.")
@click.option("--role", default=None, type=click.Choice([r.value for r in Role]))
def users_create(
    email: str,
    name: str | None,
    superuser: bool,
    password: str | None,
    org_slug: str | None,
    role: str | None,
) -> None:
    """Create a user account (optionally with a role in an organisation)."""
    from datatorg.identity import service
    from datatorg.identity.schemas import clean_email

    if (org_slug is None) != (role is None):
        raise click.UsageError("--org and --role go together")
    try:
        email = clean_email(email)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    settings = _settings()
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with write_session(settings.database_url) as session:
        try:
            user = service.create_user(
                session=session,
                email=email,
                display_name=name or email.split("@")[0],
                password=password,
                is_superuser=superuser,
            )
            if org_slug and role:
                org = service.get_organisation(session=session, ref=org_slug)
                service.add_membership(
                    session=session, user=user, organisation=org, role=Role(role)
                )
        except DatatorgError as exc:
            raise click.ClickException(exc.detail) from None
        session.commit()
    click.echo("user created")


@users.command("grant")
@click.argument("email")
@click.argument("org_slug")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def users_grant(email: str, org_slug: str, role: str) -> None:
    """Give the account EMAIL the role ROLE in organisation ORG_SLUG."""
    from datatorg.identity import service

    settings = _settings()
    with write_session(settings.database_url) as session:
        user = service.get_user_by_email(session=session, email=email)
        if user is None:
            raise click.ClickException("no such user")
        try:
            org = service.get_organisation(session=session, ref=org_slug)
        except DatatorgError as exc:
            raise click.ClickException(exc.detail) from None
        service.add_membership(session=session, user=user, organisation=org, role=Role(role))
        session.commit()
    click.echo(f"{role} in {org_slug} given")


@click.group()
def tokens() -> None:
    """Personal API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True)
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(0, 3650),
    help="0: never expires.",
)
def tokens_create(email: str, name: str, days: int) -> None:
    """Create an API token for EMAIL; it is printed once and stored only hashed."""
    from datatorg.identity import service

    settings = _settings()
    with write_session(settings.database_url) as session:
        user = service.get_user_by_email(session=session, email=email)
        if user is None or not user.is_active:
            raise click.ClickException("no such user")
        expires = utcnow() + timedelta(days=days) if days > 0 else None
        plaintext, _record = service.create_token(
            session=session, user=user, name=name, expires_at=expires
        )
        session.commit()
    click.echo(plaintext)
