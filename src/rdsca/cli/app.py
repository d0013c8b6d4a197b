"""The `rdsca` group and the one boundary that turns errors into exit codes."""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from types import FrameType
from typing import Any

import click

from rdsca import __version__, signals
from rdsca.cli import config, logs
from rdsca.errors import ExitCode, Interrupted, JournalError, RdscaError
from rdsca.files import disk_full

# Which module registers each command on `cli`. A module is imported only when one of its commands
# runs (or help lists them), so `rdsca audit` does not pay for the browser, database and rotation
# code. Add yours here; a test checks this table against what the modules register.
COMMANDS = {
    "audit": "rdsca.cli.audit",
    "notices": "rdsca.cli.notices",
    "cas": "rdsca.cli.audit",
    "sandbox": "rdsca.cli.sandbox",
    "trust": "rdsca.cli.trust",
    "probe": "rdsca.cli.probe",
    "sessions": "rdsca.cli.probe",
    "readiness": "rdsca.cli.readiness",
    "plan": "rdsca.cli.rotate",
    "apply": "rdsca.cli.rotate",
    "resume": "rdsca.cli.rotate",
    "rollback": "rdsca.cli.rotate",
    "runs": "rdsca.cli.rotate",
    "show": "rdsca.cli.rotate",
    "default": "rdsca.cli.rotate",
    "report": "rdsca.cli.report",
    "completion": "rdsca.cli.report",
    "iam-policy": "rdsca.cli.report",
    "demo": "rdsca.cli.demo",
    "iac": "rdsca.cli.iac",
}


def _global_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """A global flag given after the subcommand (`rdsca audit --debug`) means what it means before."""
    if not value or param.name is None:
        return
    obj = ctx.ensure_object(dict)
    obj[param.name] = True
    if param.name in ("debug", "verbose"):
        logs.configure(bool(obj.get("debug")), bool(obj.get("verbose")))


# The group's own flags, also accepted by every subcommand (hidden from its --help: `rdsca --help`).
GLOBAL_FLAGS = (("--debug",), ("-v", "--verbose"), ("-q", "--quiet"))


def with_global_flags(command: click.Command) -> click.Command:
    """Give `command` (and the subcommands of a group) the group's flags, once."""
    if not getattr(command, "_rdsca_global_flags", False):
        names = {o for p in command.params for o in getattr(p, "opts", ())}
        for decls in GLOBAL_FLAGS:
            if not names & set(decls):
                command.params.append(click.Option(decls, is_flag=True, expose_value=False, is_eager=True,
                                                   hidden=True, callback=_global_flag))  # fmt: skip
        command._rdsca_global_flags = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_global_flags(sub)
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name])
        command = self.commands.get(cmd_name)
        return with_global_flags(command) if command is not None else None


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="rdsca")
@click.option("--debug", is_flag=True, help="Show tracebacks and AWS call logs (also after the command).")
@click.option(
    "-v", "--verbose", is_flag=True, help="Say more about what is happening (also after the command)."
)
@click.option("-q", "--quiet", is_flag=True, help="Only print results and errors (also after the command).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool, quiet: bool) -> None:
    """Take an AWS estate safely through an RDS certificate-authority change.

    \b
    Example:
      rdsca audit --region eu-west-1 --fail-within 90
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    logs.configure(debug, verbose)
    config.apply(ctx)  # rdsca.toml -> ctx.default_map: flags and env vars still win


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    signals.interrupt(signum)


def _quiet_swallowed_interrupt(unraisable: Any) -> None:
    """An interrupt raised where Python cannot propagate it (a weakref callback, a __del__) is
    remembered by rdsca.signals and acted on at the executor's next check: not a traceback."""
    if isinstance(unraisable.exc_value, Interrupted):
        return
    sys.__unraisablehook__(unraisable)


def _signals_as_interrupts() -> None:
    """SIGTERM and SIGHUP end a command like Ctrl-C (a rollout journals "interrupted")."""
    signals.clear()
    if threading.current_thread() is threading.main_thread():
        sys.unraisablehook = _quiet_swallowed_interrupt
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _raise_interrupted)


def usage_error(exc: click.UsageError) -> str:
    """`error: <click's message>` on one line, then the command's usage and where its help is."""
    message = " ".join(exc.format_message().split())
    message = message[:1].lower() + message[1:]
    if exc.ctx is None:
        return f"error: {message}\nsee: rdsca --help"
    usage = exc.ctx.get_usage().replace("Usage: ", "usage: ", 1)
    return f"error: {message}\n{usage} (see: {exc.ctx.command_path} --help)"


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the group, map errors to exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    _signals_as_interrupts()
    try:
        rc = cli.main(args=argv, prog_name="rdsca", standalone_mode=False)
        if isinstance(rc, int) and not isinstance(rc, bool):  # ctx.exit(code) lands here
            return rc
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt into Abort
        # `from e` in click 8.2+, `from None` (the interrupt only in __context__) in 8.1
        signalled = exc.__cause__ or exc.__context__
        if isinstance(signalled, Interrupted):
            click.echo(f"Interrupted by {signalled.signame}.", err=True)
            return signalled.exit_code
        click.echo("Aborted.", err=True)
        return ExitCode.INTERRUPTED
    except Interrupted as exc:
        click.echo(f"Interrupted by {exc.signame}.", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return ExitCode.INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:  # a missing argument, an unknown option, a bad choice: one style
        click.echo(usage_error(exc), err=True)
        return ExitCode.USAGE
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except JournalError as exc:  # a full disk under the journal is the machine's fault: 1, not 2
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return ExitCode.ERROR if disk_full(exc) else int(exc.exit_code)
    except RdscaError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return int(exc.exit_code)
    except OSError as exc:  # a full disk is one line, not a bug; any other OSError is unexpected
        if debug:
            raise
        full = disk_full(exc)
        what = "disk full" if full else f"unexpected {type(exc).__name__}"
        click.echo(f"error: {what}: {exc}" + ("" if full else " (run with --debug)"), err=True)
        return ExitCode.ERROR
    except Exception as exc:  # the boundary: a bug still gets one clear line
        if debug:
            raise
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug)", err=True)
        return ExitCode.ERROR
    return ExitCode.OK


def run() -> None:
    sys.exit(main())
