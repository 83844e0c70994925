"""Operator commands: `flask --app gateway bootstrap-admin` and `flask --app gateway seed-demo`."""
import json
import os
import pathlib

import click
from flask import current_app
from flask.cli import AppGroup


def init_app(app):
    app.cli.add_command(bootstrap_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(dead_letters_group)


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


# An AppGroup runs its commands inside the app context, however they are invoked.
dead_letters_group = AppGroup(
    "dead-letters", help="Events no service could apply: list them, replay them once the fault is fixed, or discard them.")


def broker_uri():
    return current_app.extensions["rpc"].amqp_uri


@dead_letters_group.command("list")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of lines.")
def list_dead_letters(limit, as_json):
    """The oldest dead letters (left in place): when, event id and type, the service and handler
    that failed, the error's type and how many attempts were made."""
    from coalition_common import dead_letters

    letters = dead_letters.list_dead_letters(broker_uri(), limit)
    if as_json:
        click.echo(json.dumps(letters, indent=2))
        return
    if not letters:
        click.echo("no dead letters")
    for letter in letters:
        click.echo(f"{letter['dead_lettered_at']}  {letter['event_id']}  {letter['event_type']}  "
                   f"{letter['service']}.{letter['handler']}  {letter['error']}  attempts={letter['attempts']}")


@dead_letters_group.command("replay")
@click.argument("event_id")
def replay_dead_letter(event_id):
    """Send EVENT_ID back to the queue it failed in, as it first came, with a fresh retry budget."""
    from coalition_common import dead_letters

    try:
        found = dead_letters.replay(broker_uri(), event_id)
    except dead_letters.Unroutable:
        raise click.ClickException("the queue this event came from no longer exists; the dead letter is kept")
    if not found:
        raise click.ClickException(f"no dead letter for event {event_id}")
    click.echo(f"event {event_id} replayed")


@dead_letters_group.command("discard")
@click.argument("event_id")
@click.confirmation_option(prompt="Discard this event for good? No service will ever apply it.")
def discard_dead_letter(event_id):
    """Remove EVENT_ID's dead letters for good."""
    from coalition_common import dead_letters

    if not dead_letters.discard(broker_uri(), event_id):
        raise click.ClickException(f"no dead letter for event {event_id}")
    click.echo(f"event {event_id} discarded")
