"""flask commands: migrations, boundary import, demo seeding, users and API keys.

Module-level click commands (as in Flask's flaskr tutorial), registered by init_app; each runs
inside an application context."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from fieldreport.errors import DomainError
from fieldreport.extensions import storage
from fieldreport.models import ROLES

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def refusals_as_click_errors() -> Iterator[None]:
    """A use case's refusal (DomainError) ends the command with its English message, exit 1."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(exc.message_en) from None


def alembic_config():
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = current_app.config["DATABASE_URL"]
    return cfg


@click.command("db-upgrade")
@with_appcontext
def db_upgrade():
    """Create PostGIS if needed and run Alembic migrations to head."""
    from alembic import command

    command.upgrade(alembic_config(), "head")
    click.echo("database at head")


@click.command("import-areas")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_areas_cmd(path):
    """Load administrative boundaries from a GeoJSON FeatureCollection."""
    from fieldreport.services.areas import import_areas

    def progress(done, total):
        click.echo(f"  {done}/{total} features", err=True)

    res = import_areas(path, progress=progress)
    click.echo(
        f"areas: {res.created} created, {res.updated} updated, {res.repaired} repaired, {len(res.skipped)} skipped"
    )
    for msg in res.skipped[:20]:
        click.echo(f"  skipped {msg}", err=True)


@click.command("load-provinces")
@with_appcontext
def load_provinces_cmd():
    """Load the served provinces (setting PROVINCES) from the shipped national boundaries,
    each with a generated unit tree and routing rules (idempotent; nothing when unset)."""
    from fieldreport.services import provinces

    codes = provinces.served()
    if codes == (current_app.config["PROVINCE_CODE"],) and not current_app.config["PROVINCES"]:
        click.echo("PROVINCES is not set: one province, nothing to load")
        return

    def progress(done, total):
        if done % 1000 == 0 or done == total:
            click.echo(f"  {done}/{total} communes", err=True)

    res = provinces.load(codes, progress=progress)
    click.echo(
        f"provinces: {res['provinces']} provinces, {res['communes']} communes, {res['new_trees']} new unit trees"
    )


@click.command("seed-demo")
@with_appcontext
def seed_demo_cmd():
    """Load what is missing of the Đắk Lắk demo (never changing what exists) and print the
    accounts and API key."""
    from fieldreport.services.demo import DEFAULT_DEMO_PASSWORD, seed_demo

    cfg = current_app.config
    password = cfg["DEMO_PASSWORD"] or (DEFAULT_DEMO_PASSWORD if cfg["DEMO_MODE"] else None)
    if not password:
        click.echo("set FIELDREPORT_DEMO_PASSWORD (or FIELDREPORT_DEMO_MODE=1)", err=True)
        sys.exit(2)
    storage.ensure_bucket()
    res = seed_demo(password, cfg["SECRET_KEY"])
    click.echo(f"demo: {res.areas} communes, {res.units} units, {res.categories} categories, {res.rules} routing rules")
    if res.created_users:
        click.echo(f"demo accounts created (password: {password}):")
        for u in res.created_users:
            click.echo(f"  {u}")
    kept = [u for u in res.users if u not in res.created_users]
    if kept:
        click.echo("demo accounts kept as they are (their passwords, if changed, too):")
        for u in kept:
            click.echo(f"  {u}")
    click.echo(f"Open311 demo API key: {res.api_key or '(revoked or replaced: not shown)'}")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option(
    "--role", type=click.Choice([r.value for r in ROLES]), required=True
)  # the words (click matches enums by name)
@click.option("--unit", "unit_code", default=None, help="unit code the user belongs to")
@click.option("--name", "full_name", default=None)
@click.password_option()
def create_user(username, role, unit_code, full_name, password):
    """Create or update a user (a new password signs the user out everywhere)."""
    from fieldreport.services import accounts

    with refusals_as_click_errors():
        accounts.save_user(username, role, unit_code, full_name, password)
    click.echo(f"user {username} ({role})")


@click.command("deactivate-user")
@with_appcontext
@click.argument("username")
@click.option("--reactivate", is_flag=True, help="let the user sign in again (old sessions stay ended)")
def deactivate_user(username, reactivate):
    """Deactivate a user: no sign-in, and every token and console session ends."""
    from fieldreport.services import accounts

    with refusals_as_click_errors():
        accounts.set_active(accounts.by_username(username), reactivate)
    click.echo(f"user {username} {'reactivated' if reactivate else 'deactivated'}")


@click.command("create-api-key")
@with_appcontext
@click.argument("name")
@click.option("--contact", default=None, help="who to call about this client")
@click.option(
    "--unit", "unit_code", default=None, help="unit code an external tracker works for (lets it post request updates)"
)
def create_api_key(name, contact, unit_code):
    """Issue an Open311 API key for client NAME (printed once; only its hash is stored)."""
    from fieldreport.services import apikeys

    with refusals_as_click_errors():
        key, raw = apikeys.create(name, contact, unit_code)
    click.echo(f"api key for {key.name}: {raw}")


@click.command("revoke-api-key")
@with_appcontext
@click.argument("name")
def revoke_api_key(name):
    """Revoke the Open311 API key of client NAME."""
    from fieldreport.services import apikeys

    with refusals_as_click_errors():
        apikeys.revoke(apikeys.by_name(name))
    click.echo(f"api key for {name} revoked")


COMMANDS = (
    db_upgrade,
    import_areas_cmd,
    load_provinces_cmd,
    seed_demo_cmd,
    create_user,
    deactivate_user,
    create_api_key,
    revoke_api_key,
)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
