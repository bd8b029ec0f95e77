"""`quoteflow models`: list, show, promote and archive registered model versions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from quoteflow.cli_options import actor_option, registry_option
from quoteflow.registry.store import Registry, RegistryError


def _registry(ctx: click.Context) -> Registry:
    return Registry(ctx.obj["registry_dir"])


def _fail(e: Exception) -> click.ClickException:
    return click.ClickException(str(e))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@registry_option
@click.pass_context
def models(ctx: click.Context, registry_dir: Path) -> None:
    """Registered model versions and their stages (None, Staging, Production, Archived).

    Rollback is promoting an older version: `quoteflow models promote motor 1 --to
    Production --reason "..."`; the version it replaces is archived, and every move
    is recorded in the audit trail with time, actor and reason.
    """
    ctx.ensure_object(dict)
    ctx.obj["registry_dir"] = registry_dir


@models.command("list")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def list_(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Every version (of NAME, or of every model) with its stage and main metric."""
    reg = _registry(ctx)
    rows = []
    for n in [name] if name else reg.names():
        stages = reg.stages(n)
        for v in reg.versions(n):
            try:
                meta = reg.get(n, v).metadata
            except RegistryError as e:
                meta = {"error": str(e)}
            rows.append({"name": n, "version": v, "stage": stages.get(v, "None"),
                         "model_type": meta.get("model_type", ""),
                         "test_deviance": meta.get("metrics", {}).get("poisson_deviance_test"),
                         "created_at": meta.get("created_at", ""),
                         "sha256": str(meta.get("onnx_sha256", ""))[:12]})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no models in {reg.root}")
        return
    click.echo(f"{'NAME':<12} {'VER':>4} {'STAGE':<11} {'TYPE':<23} {'TEST DEV':>9} "
               f"{'SHA256':<13} CREATED")
    for r in rows:
        dev = f"{r['test_deviance']:.5f}" if r["test_deviance"] is not None else "-"
        click.echo(f"{r['name']:<12} {r['version']:>4} {r['stage']:<11} {r['model_type']:<23} "
                   f"{dev:>9} {r['sha256']:<13} {r['created_at']}")


@models.command()
@click.argument("ref")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="check model.onnx against the sha256 recorded at registration")
@click.pass_context
def show(ctx: click.Context, ref: str, verify: bool) -> None:
    """One version's metadata, stage and history. REF: name, name:version or name@stage."""
    reg = _registry(ctx)
    try:
        mv = reg.resolve(ref)
        if verify:
            mv.read_verified()
    except RegistryError as e:
        raise _fail(e) from e
    meta = mv.metadata
    click.echo(f"{mv.name}:{mv.version}  stage {reg.stage_of(mv.name, mv.version)}  "
               f"{meta.get('model_type', '')}")
    click.echo(f"  path           {mv.path}")
    click.echo(f"  onnx sha256    {mv.sha256}" + ("  (verified)" if verify else ""))
    click.echo(f"  created        {meta.get('created_at')}")
    click.echo(f"  feature schema {meta.get('feature_schema_version')}")
    click.echo(f"  training data  {meta.get('training_data_sha256')}")
    m = meta.get("metrics", {})
    if "poisson_deviance_test" in m:
        click.echo(f"  test deviance  {m['poisson_deviance_test']:.6f} "
                   f"(null {m.get('poisson_deviance_test_null', float('nan')):.6f})")
    sev = meta.get("severity", {})
    if sev:
        click.echo(f"  severity       {sev.get('family')} mean {sev.get('mean', 0):,.2f}")
    p = meta.get("pricing", {})
    if p:
        click.echo(f"  pricing        {p.get('formula')}")
        click.echo(f"                 expense {p.get('expense_loading')}, profit "
                   f"{p.get('profit_loading')}, minimum {p.get('minimum_premium')} "
                   f"{p.get('currency')}")
    if (mv.path / "report.md").is_file():
        click.echo(f"  report         {mv.path / 'report.md'}")
    history = [ev for ev in reg.audit(mv.name) if ev["version"] == mv.version]
    click.echo("  history" + ("" if history else "        (no stage moves)"))
    for ev in history:
        what = f"{ev['from']} -> {ev['to']}" if "to" in ev else ev.get("event", "?")
        click.echo(f"    {ev['time']}  {what}  by {ev['actor']}: {ev['reason']}")


_actor_option = actor_option("who makes the move (recorded in the audit trail)")


@models.command()
@click.argument("name")
@click.argument("version")
@click.option("--to", "stage", required=True, type=click.Choice(["Staging", "Production"]),
              help="target stage")
@click.option("--reason", required=True, help="why (recorded in the audit trail)")
@click.option("--effective", default=None, metavar="INSTANT",
              help="with --to Production: schedule it as the tariff for covers starting at "
                   "or after INSTANT (a date: its midnight UTC; or an ISO instant with its "
                   "zone) instead of moving it now")
@_actor_option
@click.pass_context
def promote(ctx: click.Context, name: str, version: str, stage: str, reason: str,
            effective: str | None, actor: str) -> None:
    """Move NAME VERSION to Staging or Production (rollback: promote an older version).

    Promoting to Production archives the version that was there. With --effective the
    promotion is scheduled: recorded in the audit trail now, with its instant, while the
    current Production version keeps pricing covers that start before it; the routers
    follow the traffic policy's schedule (`quoteflow traffic schedule`, printed here).
    """
    if effective is not None:
        _schedule(ctx, name, version, stage, reason, effective, actor)
        return
    try:
        events = _registry(ctx).move(name, version, stage, actor, reason)
    except RegistryError as e:
        raise _fail(e) from e
    for ev in events:
        click.echo(f"{ev['model']}:{ev['version']} {ev['from']} -> {ev['to']} by {ev['actor']}")


@models.command()
@click.argument("name")
@click.argument("version")
@click.option("--reason", required=True, help="why (recorded in the audit trail)")
@_actor_option
@click.pass_context
def archive(ctx: click.Context, name: str, version: str, reason: str, actor: str) -> None:
    """Move NAME VERSION to Archived (it stays in the registry; it can be promoted again)."""
    try:
        events = _registry(ctx).move(name, version, "Archived", actor, reason)
    except RegistryError as e:
        raise _fail(e) from e
    for ev in events:
        click.echo(f"{ev['model']}:{ev['version']} {ev['from']} -> {ev['to']} by {ev['actor']}")


def _schedule(ctx: click.Context, name: str, version: str, stage: str, reason: str,
              effective: str, actor: str) -> None:
    from quoteflow.traffic.policy import effective_instant
    from quoteflow.traffic.tariffs import iso

    if stage != "Production":
        raise click.UsageError("--effective schedules a tariff: it goes with --to Production")
    try:
        instant = iso(effective_instant(effective))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--effective") from e
    try:
        _registry(ctx).record(name, version, "scheduled", actor, reason,
                              {"to": "Production", "effective": instant})
    except RegistryError as e:
        raise _fail(e) from e
    click.echo(f"{name}:{version} scheduled for Production from {instant} by {actor}")
    click.echo(f"the routers price covers starting then with it once the traffic policy "
               f"says so:\n  quoteflow traffic schedule --model {name} --effective {instant} "
               f"--blue {version} --reason {json.dumps(reason)}")
