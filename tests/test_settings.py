"""Settings: every variable in one typed class (core/settings.py), documented in one table
(docs/operations.md), parsed as people write them, refused at start with the variable's name."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from core.settings import CODE_ONLY, Settings, SettingsError, environment_variable, load_settings
from tests.helpers import ROOT


def test_the_table_lists_every_variable_and_nothing_else():
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    table = text[text.index("## Settings"):text.index("## Logs")]
    documented = re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.M)
    declared = [environment_variable(name) for name in Settings.model_fields if name not in CODE_ONLY]
    assert documented == declared


@pytest.mark.parametrize("written, meant", [("1", True), ("true", True), ("Yes", True), ("ON", True), ("0", False), ("false", False), ("no", False), ("Off", False)])
def test_booleans_are_read_as_people_write_them(monkeypatch, written, meant):
    monkeypatch.setenv("XWPX_SECURE_COOKIES", written)
    assert load_settings().secure_cookies is meant


def test_lists_and_rates_are_read_from_their_usual_spelling(monkeypatch):
    monkeypatch.setenv("XWPX_CORS_ORIGINS", "https://a.example, https://b.example,")
    monkeypatch.setenv("XWPX_PUBLIC_RATE", "30/2")
    settings = load_settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.public_rate == (30.0, 2.0)


def test_every_bad_value_is_named_at_once(monkeypatch):
    monkeypatch.setenv("XWPX_PUBLIC_POOL", "many")
    monkeypatch.setenv("XWPX_PUBLIC_RATE", "60")
    monkeypatch.setenv("XWPX_SECURE_COOKIES", "perhaps")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert all(name in str(refused.value) for name in ("XWPX_PUBLIC_POOL", "XWPX_PUBLIC_RATE", "XWPX_SECURE_COOKIES"))


def test_code_only_settings_are_not_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("XWPX_CLOCK", "not a clock")
    monkeypatch.setenv("XWPX_SESSION_IDLE_TIMEOUT", "1")
    settings = load_settings()
    assert callable(settings.clock) and settings.session_idle_timeout.total_seconds() == 7200


@pytest.mark.slow
def test_a_bad_value_stops_a_command_with_the_variables_name():
    env = {"PATH": "/usr/bin:/bin", "XWPX_PUBLIC_POOL": "zero", "XWPX_ARGON2_PROFILE": "test"}
    done = subprocess.run([sys.executable, "server.py", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "XWPX_PUBLIC_POOL" in done.stderr and "Traceback" not in done.stderr
