"""Options shared by the `iterft` commands."""

import typer

HomeOption = typer.Option(None, "--home", help="Lineage root (default $ITERFT_HOME or ./lineages).")
