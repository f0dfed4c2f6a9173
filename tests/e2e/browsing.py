"""What the browser tests share: logging in through the form, and the demo's passwords."""

from __future__ import annotations

import json

from flask import Flask

from procurement.demo.cli import _logins_file


def log_in(page, server: str, username: str, password: str) -> None:
    """Log in through the login form and wait for the home page."""
    page.goto(f"{server}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{server}/")


def demo_password(app: Flask, username: str) -> str:
    """The password the demo load gave a user (it writes them to the instance folder)."""
    with app.app_context():
        return json.loads(_logins_file().read_text())[username]
