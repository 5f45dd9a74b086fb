"""`tutor app`: set up the web app's editor sign-in (the app itself runs with `streamlit run app.py`)."""

from __future__ import annotations

import secrets
import sys

import click

from tutor.cli import main

MIN_PASSWORD_CHARS = 12


@main.group("app")
def app_group() -> None:
    """The web app: editor sign-in set-up."""


@app_group.command("hash-password")
@click.option("--salt", default=None, help="Salt to hash with (default: a new random one).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
def hash_password(salt: str | None, password_stdin: bool) -> None:
    """Print the two settings that let editors sign in to the Content and Evaluation pages with a password.

    The password is asked for twice and never shown; only its salted SHA-256 is printed.
    Example: tutor app hash-password   then put the two lines in the server's environment.
    """
    from tutor.webapp.auth import hash_password as digest

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Editor password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_CHARS:
        click.echo(f"error: the password has {len(password)} characters; use at least {MIN_PASSWORD_CHARS} "
                   "(a few unrelated words is easy to remember and hard to guess).", err=True)
        sys.exit(2)
    salt = salt if salt is not None else secrets.token_hex(16)
    click.echo(f"TUTOR_APP__ADMIN_PASSWORD_SALT={salt}")
    click.echo(f"TUTOR_APP__ADMIN_PASSWORD_SHA256={digest(password, salt)}")
