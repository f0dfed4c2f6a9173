import os

import pytest

from procurement import create_app


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    first = create_app({"INSTANCE_PATH": str(instance)})
    key_file = instance / "secret_key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(first.config["SECRET_KEY"]) == 64
    second = create_app({"INSTANCE_PATH": str(instance)})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_database_defaults_to_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PROCUREMENT_DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'procurement.sqlite3'}"


def test_instance_config_then_environment_override_defaults(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("LOGIN_MAX_FAILURES = 7\nSESSION_IDLE_MINUTES = 30\n")
    monkeypatch.setenv("PROCUREMENT_SESSION_IDLE_MINUTES", "45")
    monkeypatch.setenv("PROCUREMENT_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("PROCUREMENT_DATABASE_URL", "postgresql+psycopg://u@db/x")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["LOGIN_MAX_FAILURES"] == 7
    assert app.config["SESSION_IDLE_MINUTES"] == 45
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/x"
    assert "PROCUREMENT_DATABASE_URL" in os.environ


def test_session_cookie_is_http_only_and_same_site(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_postgresql_without_its_driver_says_which_extra_to_install(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "psycopg" else find_spec(name, *a),
    )
    with pytest.raises(RuntimeError, match=r"pip install 'procurement\[postgres\]'"):
        create_app(
            {
                "INSTANCE_PATH": str(tmp_path),
                "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db/x",
            }
        )
    sqlite = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": sqlite})
