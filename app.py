"""The tutor's web app: `streamlit run app.py`. Pages and their logic live in tutor/webapp/."""

import streamlit as st

import tutor  # noqa: F401  sets the offline environment before anything heavy is imported
from tutor.webapp.navigation import build_navigation

st.set_page_config(page_title="AI-literacy tutor", page_icon=":material/school:", layout="centered")
build_navigation().run()
