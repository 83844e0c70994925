"""Operator commands: `flask --app gateway bootstrap-admin` and `flask --app gateway seed-demo`."""
import json
import os
import pathlib

import click
from flask import current_app


def init_app(app):
    app.cli.add_command(bootstrap_admin)
    app.cli.add_command(seed_demo)


@click.command("bootstrap-admin")
def bootstrap_admin():
    """Create or rotate the coalition-admin key from COALITION_ADMIN_KEY (only its hash is stored)."""
    key = os.environ.get("COALITION_ADMIN_KEY")
    if not key:
        raise click.ClickException("COALITION_ADMIN_KEY is not set")
    answer = current_app.extensions["rpc"].call("registry", "bootstrap_admin", key)
    click.echo("coalition-admin key " + ("created or rotated" if answer["changed"] else "unchanged"))


@click.command("seed-demo")
@click.option("--credentials-file", type=click.Path(dir_okay=False), required=True)
def seed_demo(credentials_file):
    """Create the demo coalition if the registry is empty; write the demo keys to a 0600 file."""
    from gateway import demo

    credentials = demo.seed(current_app.extensions["rpc"].call)
    if credentials is None:
        click.echo("demo coalition: data already present, nothing created")
        return
    path = pathlib.Path(credentials_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(credentials, out, indent=2)
    click.echo(f"demo coalition created; demo keys in {path}")
