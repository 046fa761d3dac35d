"""Settings: documented, typed, and refusing a weak secret outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from datatorg.settings import DEV_SECRET, Settings

DOCS = Path(__file__).parent.parent / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"DATATORG_{name.upper()}" in text, f"DATATORG_{name.upper()} missing from docs"


def test_every_setting_has_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name


@pytest.mark.parametrize("secret", [DEV_SECRET, "short"])
def test_weak_secret_refused_outside_development(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env="production", secret_key=secret)  # type: ignore[arg-type]


def test_development_defaults_work_and_hide_the_secret() -> None:
    s = Settings(env="development")
    assert DEV_SECRET not in repr(s)
    assert s.database_url.startswith("sqlite:///")


def test_cookies_are_secure_except_plain_http_development() -> None:
    assert Settings(env="development", base_url="http://127.0.0.1:8000").secure_cookies is False
    assert Settings(env="development").secure_cookies is False  # no public address: plain http
    strong = "k3Vq9-zR7pL2mW8xT4nB6yH1cJ5dF0gA"
    assert Settings(env="production", secret_key=strong).secure_cookies is True  # type: ignore[arg-type]
    assert Settings(env="test", secret_key=strong).secure_cookies is True  # type: ignore[arg-type]
