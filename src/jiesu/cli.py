"""The `jiesu` command: each domain adds its own sub-commands."""

from __future__ import annotations

import typer

from jiesu.algoaudit.cli import audit_models
from jiesu.analytics.bench import bench_analytics
from jiesu.analytics.cli import app as analytics_app
from jiesu.analytics.cli_report import report_cmd
from jiesu.city.cli import app as city_app
from jiesu.city.cli import calendar_app
from jiesu.clikit import console, settings
from jiesu.config import Settings
from jiesu.db.cli import app as db_app
from jiesu.deliberation.cli import app as consult_app
from jiesu.demo.cli import demo
from jiesu.dispatch.bench import bench_dispatch
from jiesu.dispatch.cli import app as dispatch_app
from jiesu.equity.cli import equity_cmd
from jiesu.intake.bench import app as bench_app
from jiesu.intake.importer.cli import import_cmd
from jiesu.intake.open311.cli import app as open311_app
from jiesu.intake.sensors.broker import redact_url
from jiesu.intake.sensors.cli import app as sensors_app
from jiesu.kb.cli import app as kb_app
from jiesu.loop.cli import app as callbacks_app
from jiesu.nlp.bench import bench_nlp
from jiesu.nlp.cli import app as nlp_app
from jiesu.notify.cli import app as notify_app
from jiesu.ops.cli import backup_cmd, restore_cmd
from jiesu.ops.cli_bench_all import bench_all
from jiesu.ops.soak.cli import bench_soak
from jiesu.people.cli import app as users_app
from jiesu.privacy.cli import app as audit_app
from jiesu.privacy.cli_export import app as export_app
from jiesu.privacy.cli_privacy import app as privacy_app
from jiesu.rates.cli import app as rates_app
from jiesu.sandbox.cli import app as sandbox_app
from jiesu.surge.cli import app as event_app
from jiesu.web.bench import bench_web
from jiesu.workflow.cli import app as workflow_app

app = typer.Typer(
    help="Jiesu 接诉: hear every citizen request, dispatch it, make sure it is fixed, prove it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo)
app.command("import")(import_cmd)
app.command("report")(report_cmd)
app.command("equity")(equity_cmd)
app.command("backup")(backup_cmd)
app.command("restore")(restore_cmd)
app.add_typer(db_app, name="db")
app.add_typer(city_app, name="city")
app.add_typer(calendar_app, name="calendar")
app.add_typer(users_app, name="users")
app.add_typer(workflow_app, name="workflow")
app.add_typer(notify_app, name="notify")
app.add_typer(audit_app, name="audit")
audit_app.command("models")(audit_models)
app.add_typer(privacy_app, name="privacy")
app.add_typer(sensors_app, name="sensors")
app.add_typer(open311_app, name="open311")
app.add_typer(event_app, name="event")
app.add_typer(nlp_app, name="nlp")
app.add_typer(dispatch_app, name="dispatch")
app.add_typer(rates_app, name="rates")
app.add_typer(callbacks_app, name="callbacks")
app.add_typer(analytics_app, name="analytics")
app.add_typer(export_app, name="export")
app.add_typer(consult_app, name="consult")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(bench_app, name="bench")
app.add_typer(kb_app, name="kb")
bench_app.command("nlp")(bench_nlp)
bench_app.command("dispatch")(bench_dispatch)
bench_app.command("web")(bench_web)
bench_app.command("analytics")(bench_analytics)
bench_app.command("soak")(bench_soak)
bench_app.command("all")(bench_all)


# After SIGTERM (or Ctrl+C) requests already being answered get this long to finish.
SHUTDOWN_GRACE_SECONDS = 20


def run_server(s: Settings, host: str, port: int) -> None:
    import signal

    import uvicorn

    from jiesu.app import create_app
    from jiesu.ops.serving import serving

    console.print(f"serving on http://{host}:{port}  (Ctrl+C to stop)")
    # uvicorn stops on SIGTERM — no new connections, answers in flight finished, the schedule
    # stopped — and then raises the signal again for the handler that was there before it.
    # Python's default handler would end the process as killed; a shutdown that went as
    # planned is a normal end (exit 0), which is what process managers expect.
    signal.signal(signal.SIGTERM, lambda *_: None)
    # Held while serving: `jiesu restore` refuses to run under a live server (ops/serving.py).
    with serving(s.db_url):
        uvicorn.run(
            create_app(s),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    sensors: bool = typer.Option(
        None,
        "--sensors/--no-sensors",
        help="also consume sensor alarms (default: JIESU_SENSORS_IN_SERVE)",
    ),
) -> None:
    """Serve the API (and run the overdue check and, if asked, the sensor listener)."""
    s = settings()
    if sensors is not None:
        s = s.model_copy(update={"sensors_in_serve": sensors})
    run_server(s, host, port)


@app.command("settings")
def show_settings() -> None:
    """List every setting, its environment variable, current value and meaning."""
    s = settings()
    for name, info in Settings.model_fields.items():
        value = getattr(s, name)
        if name == "secret_key":
            value = "(set)" if value != info.default else "(development default)"
        if name == "mqtt_url":
            value = redact_url(value)
        console.print(f"JIESU_{name.upper():14} = {value!s:32} {info.description}")


if __name__ == "__main__":
    app()
