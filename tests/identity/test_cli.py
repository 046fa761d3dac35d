"""The ``datatorg`` command against the test database: users create/grant, tokens create."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from datatorg import cli
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service, tokens
from datatorg.identity.models import ApiToken, Membership, Organisation, Role, User
from datatorg.settings import get_settings
from tests.conftest import TEST_SECRET


@pytest.fixture
def cli_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """The CLI pointed at the test database; what it commits is deleted afterwards."""
    monkeypatch.setenv("DATATORG_DATABASE_URL", database_url)
    monkeypatch.setenv("DATATORG_ENV", "test")
    monkeypatch.setenv("DATATORG_SECRET_KEY", TEST_SECRET)
    monkeypatch.setattr(cli, "configure_logging", lambda **_kw: None)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    with make_sessionmaker(engine)() as session:
        session.info["tag"] = tag
        yield session
        session.rollback()
        session.execute(delete(User).where(User.email.like(f"%{tag}%")))
        session.execute(delete(Organisation).where(Organisation.slug == f"cli-{tag}"))
        session.commit()
    engine.dispose()
    get_settings.cache_clear()


def test_users_create_then_tokens_create(cli_db: Session) -> None:
    tag = cli_db.info["tag"]
    email = f"Cli.{tag}@Example.no"
    runner = CliRunner()
    r = runner.invoke(
        cli.main, ["users", "create", email, "--name", "Cli Bruker", "--password", "long-enough-pw"]
    )
    assert r.exit_code == 0, r.output
    user = service.get_user_by_email(session=cli_db, email=email)
    assert user is not None and user.display_name == "Cli Bruker"
    assert user.password_hash and user.password_hash.startswith("$argon2id$")

    t = runner.invoke(cli.main, ["tokens", "create", email.lower(), "--days", "7"])
    assert t.exit_code == 0, t.output
    plaintext = t.output.strip()
    assert plaintext.startswith("dtg_")
    cli_db.rollback()  # end the read snapshot so the CLI's commit is visible (SQLite)
    found = service.actor_for_token(session=cli_db, plaintext=plaintext)
    assert found is not None and found.user_id == user.id
    record = cli_db.scalar(select(ApiToken).where(ApiToken.digest == tokens.digest(plaintext)))
    assert record is not None and record.expires_at is not None


def test_users_create_refuses_duplicates_and_bad_input(cli_db: Session) -> None:
    tag = cli_db.info["tag"]
    email = f"dup.{tag}@example.no"
    runner = CliRunner()
    assert (
        runner.invoke(
            cli.main, ["users", "create", email, "--password", "long-enough-pw"]
        ).exit_code
        == 0
    )
    dup = runner.invoke(cli.main, ["users", "create", email, "--password", "long-enough-pw"])
    assert dup.exit_code == 1 and "already exists" in dup.output
    short = runner.invoke(
        cli.main, ["users", "create", f"s.{tag}@example.no", "--password", "short"]
    )
    assert short.exit_code == 1 and "at least 10" in short.output
    bad = runner.invoke(
        cli.main, ["users", "create", "'; DROP TABLE users;--", "--password", "x" * 12]
    )
    assert bad.exit_code == 2 and "EMAIL" in bad.output
    assert cli_db.scalar(select(User).where(User.email == f"s.{tag}@example.no")) is None


def test_users_create_prompts_for_the_password(cli_db: Session) -> None:
    tag = cli_db.info["tag"]
    email = f"prompt.{tag}@example.no"
    r = CliRunner().invoke(
        cli.main, ["users", "create", email], input="prompted-password\nprompted-password\n"
    )
    assert r.exit_code == 0, r.output
    assert "prompted-password" not in r.output
    assert service.get_user_by_email(session=cli_db, email=email) is not None


def test_users_create_with_role_and_grant(cli_db: Session) -> None:
    tag = cli_db.info["tag"]
    org = service.create_organisation(session=cli_db, slug=f"cli-{tag}", name="CLI org")
    cli_db.commit()
    runner = CliRunner()
    email = f"role.{tag}@example.no"
    r = runner.invoke(
        cli.main,
        [
            "users",
            "create",
            email,
            "--password",
            "long-enough-pw",
            "--org",
            org.slug,
            "--role",
            "publisher",
        ],
    )
    assert r.exit_code == 0, r.output
    g = runner.invoke(cli.main, ["users", "grant", email, org.slug, "steward"])
    assert g.exit_code == 0, g.output
    user = service.get_user_by_email(session=cli_db, email=email)
    assert user is not None
    roles = set(cli_db.scalars(select(Membership.role).where(Membership.user_id == user.id)))
    assert roles == {Role.publisher, Role.steward}
    assert runner.invoke(cli.main, ["users", "grant", email, "no-such-org", "admin"]).exit_code == 1
    assert runner.invoke(cli.main, ["users", "grant", email, org.slug, "king"]).exit_code == 2
    half = runner.invoke(cli.main, ["users", "create", f"h.{tag}@example.no", "--org", org.slug])
    assert half.exit_code == 2


def test_tokens_create_for_unknown_user_fails(cli_db: Session) -> None:
    r = CliRunner().invoke(cli.main, ["tokens", "create", "nobody-here@example.no"])
    assert r.exit_code == 1 and "no such user" in r.output
    assert (
        CliRunner().invoke(cli.main, ["tokens", "create", "x@example.no", "--days", "-1"]).exit_code
        == 2
    )


def test_serve_turns_off_uvicorns_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's access log writes query strings, where reset tokens travel."""
    from datatorg.web import workers

    seen: list[object] = []
    monkeypatch.setattr(workers, "run", seen.append)
    monkeypatch.setattr(cli, "configure_logging", lambda **_kw: None)
    r = CliRunner().invoke(cli.main, ["serve", "--port", "8799", "--workers", "2"])
    assert r.exit_code == 0, r.output
    config = seen[0]
    assert config.access_log is False and config.proxy_headers is True  # type: ignore[attr-defined]
    assert config.workers == 2 and config.port == 8799  # type: ignore[attr-defined]


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_serve_refuses_a_worker_count_below_one(
    workers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datatorg.web import workers as web_workers

    seen: list[object] = []
    monkeypatch.setattr(web_workers, "run", seen.append)
    r = CliRunner().invoke(cli.main, ["serve", "--workers", workers])
    assert r.exit_code == 2 and "--workers" in r.output and seen == []
