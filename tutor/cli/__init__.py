"""The `tutor` command line: noun-verb commands, --json for machines, exit codes that mean something.

Each noun lives in its own module and registers on `main`; the commands hold no logic of their own.
"""

from __future__ import annotations

import click

import tutor  # noqa: F401  sets the offline environment before anything heavy is imported


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(tutor.__version__)
def main() -> None:
    """AI-literacy tutor for health and care staff: answers from curated guidance, with citations, offline."""


from tutor.cli import core  # noqa: E402,F401  registers ingest, ask, settings, corpus
from tutor.cli import app  # noqa: E402,F401  registers app hash-password
from tutor.cli import eval  # noqa: E402,F401  registers eval, eval compare, eval export-review, eval import-review
from tutor.cli import safety  # noqa: E402,F401  registers safety guard-report, safety screen
from tutor.cli import learn  # noqa: E402,F401  registers learn, learn export, learn progress
