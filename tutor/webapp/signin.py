"""Editor sign-in page: st.login (OIDC) when configured, otherwise the password from settings; also signs out."""

from __future__ import annotations

import streamlit as st

from tutor.webapp import auth
from tutor.webapp.resources import current_settings


def main() -> None:
    settings = current_settings()
    mode = auth.access_mode(settings.app)
    if auth.is_editor(settings.app):
        st.title("Signed in")
        who = st.user.to_dict().get("email") if mode == "oidc" else None
        st.markdown(f"You are signed in as an editor{f' ({who})' if who else ''}. The Content and Evaluation pages "
                    "are in the menu.")
        if st.button("Sign out", icon=":material/logout:"):
            auth.sign_out(settings.app)
            st.rerun()
        return

    st.title("Editor sign-in")
    st.markdown("The Content and Evaluation pages are for the people who look after the tutor's guidance and check "
                "its answers. Learners do not need to sign in.")
    if mode == "oidc":
        user = st.user.to_dict()
        if user.get("is_logged_in"):
            st.error(f"The account {user.get('email', '')} is not on the editors' list. Ask the person who runs the "
                     "tutor to add it (TUTOR_APP__EDITOR_EMAILS).", icon=":material/block:")
            if st.button("Sign out"):
                st.logout()
            return
        st.button("Sign in with your organisation account", icon=":material/login:", on_click=st.login)
        return
    if mode is None:
        problem = auth.setting_problem(settings.app)
        st.warning(problem or "Editor sign-in is not set up on this server.", icon=":material/lock:")
        return
    with st.form("editor-sign-in"):
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", icon=":material/login:")
    if submitted:
        ok, message = auth.try_password(password, settings.app)
        if ok:
            st.rerun()
        st.error(message, icon=":material/error:")


if __name__ == "__main__":
    main()
