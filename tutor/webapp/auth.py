"""Who may see the editorial pages: OIDC sign-in when configured, otherwise a hashed password from settings.

Rules:
  * With an ``[auth]`` section in ``.streamlit/secrets.toml`` the app signs editors in with ``st.login`` (OIDC).
  * Otherwise, with ``TUTOR_APP__ADMIN_PASSWORD_SHA256`` set, editors type a password; it is salted, hashed and
    compared in constant time. There is no default password.
  * With neither, the protected pages do not exist at all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Literal

import streamlit as st

from tutor.settings import AppSettings

AccessMode = Literal["oidc", "password"]
SIGNED_IN_KEY = "editor_signed_in"
FAILED_ATTEMPTS_KEY = "editor_failed_attempts"
MAX_ATTEMPTS = 5
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class PasswordSettingError(ValueError):
    """The configured password hash cannot be used; the message says what to set."""


def hash_password(password: str, salt: str = "") -> str:
    """SHA-256 hex of salt + password: the value to put in TUTOR_APP__ADMIN_PASSWORD_SHA256."""
    return hashlib.sha256((salt + password).encode("utf-8")).hexdigest()


def configured_hash(settings: AppSettings) -> str | None:
    """The configured hash, lower-cased, or None when no password is set. Raises on a malformed value."""
    value = (settings.admin_password_sha256 or "").strip().lower()
    if not value:
        return None
    if not _SHA256_HEX.match(value):
        raise PasswordSettingError(
            "TUTOR_APP__ADMIN_PASSWORD_SHA256 must be 64 hexadecimal characters (a SHA-256 digest); "
            "make one with `tutor app hash-password`.")
    return value


def password_matches(candidate: str, settings: AppSettings) -> bool:
    """Constant-time comparison of the candidate's salted hash with the configured one; False when none is set."""
    expected = configured_hash(settings)
    if expected is None or not candidate:
        return False
    return hmac.compare_digest(hash_password(candidate, settings.admin_password_salt), expected)


def oidc_configured() -> bool:
    """True when `.streamlit/secrets.toml` (or the test's secrets) has an [auth] section for st.login."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # StreamlitSecretNotFoundError subclasses it: no secrets file at all
        return False


def access_mode(settings: AppSettings) -> AccessMode | None:
    """How editors sign in here, or None when the protected pages should not exist."""
    if oidc_configured():
        return "oidc"
    try:
        return "password" if configured_hash(settings) else None
    except PasswordSettingError:
        return None  # a broken setting must not open the pages; the sign-in page explains (see setting_problem)


def setting_problem(settings: AppSettings) -> str | None:
    try:
        configured_hash(settings)
    except PasswordSettingError as exc:
        return str(exc)
    return None


def oidc_user_allowed(user: dict, settings: AppSettings) -> bool:
    """A signed-in OIDC user is an editor when no allow-list is set or their email is on it."""
    if not user.get("is_logged_in"):
        return False
    allowed = {e.strip().lower() for e in settings.editor_emails if e.strip()}
    return not allowed or str(user.get("email", "")).lower() in allowed


def is_editor(settings: AppSettings) -> bool:
    """Whether this browser session may see the Content and Evaluation pages."""
    mode = access_mode(settings)
    if mode == "oidc":
        return oidc_user_allowed(st.user.to_dict(), settings)
    if mode == "password":
        return bool(st.session_state.get(SIGNED_IN_KEY))
    return False


def try_password(candidate: str, settings: AppSettings) -> tuple[bool, str]:
    """Check a typed password for this session, with a pause after a miss and a limit on attempts."""
    attempts = int(st.session_state.get(FAILED_ATTEMPTS_KEY, 0))
    if attempts >= MAX_ATTEMPTS:
        return False, "Too many attempts. Close this tab and open the tutor again to try once more."
    if password_matches(candidate, settings):
        st.session_state[SIGNED_IN_KEY] = True
        st.session_state[FAILED_ATTEMPTS_KEY] = 0
        return True, "Signed in."
    st.session_state[FAILED_ATTEMPTS_KEY] = attempts + 1
    time.sleep(min(0.5 * (attempts + 1), 2.0))  # slows guessing; a real user barely notices
    left = MAX_ATTEMPTS - attempts - 1
    return False, f"That password is not right. {left} attempt{'s' if left != 1 else ''} left."


def sign_out(settings: AppSettings) -> None:
    st.session_state.pop(SIGNED_IN_KEY, None)
    if access_mode(settings) == "oidc":
        st.logout()


def require_editor(settings: AppSettings) -> None:
    """Stop the page unless this session is a signed-in editor (defence in depth behind the navigation)."""
    if not is_editor(settings):
        st.warning("This page is for content editors and evaluators. Sign in first.")
        st.stop()
