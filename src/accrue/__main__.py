"""`python -m accrue`: the command line."""

from accrue.cli import app

app(prog_name="accrue")
