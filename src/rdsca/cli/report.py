"""`rdsca report`, `rdsca completion` and `rdsca iam-policy`: adapters around `rdsca.api.report`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click
from click.shell_completion import get_completion_class

import rdsca.report.formats  # noqa: F401  (registers the renderers)
from rdsca.api.report import DEFAULT_TITLE, Report
from rdsca.api.report import iam_policy as read_iam_policy
from rdsca.api.report import report as build_report
from rdsca.aws.permissions import CAPABILITIES
from rdsca.cli.app import cli
from rdsca.cli.audit import exit_code
from rdsca.cli.common import resolve
from rdsca.cli.completion import complete_run_ids
from rdsca.cli.options import AwsOptions, Selection, aws_options, selection_options, warn_days_option
from rdsca.cli.output import emit, format_from_output, writable_file, write_atomic
from rdsca.cli.rotate import journal_option, open_journal
from rdsca.errors import ConfigError
from rdsca.report.registry import formats, render
from rdsca.report.words import count as plural_count

SHELLS = ("bash", "zsh", "fish")
DEFAULT_OUTPUT = Path("rdsca-report.html")


@cli.command()
@aws_options
@selection_options
@warn_days_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUTPUT,
    show_default=True,
    callback=writable_file,
    help="Where to write the report ('-' for standard output; the default for markdown and prometheus).",
)
@click.option("--title", default=DEFAULT_TITLE, show_default=True, help="The page's heading.")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(formats(Report)),
    default="html",
    show_default=True,
    help="html: the page; markdown: for a change ticket; prometheus: a node_exporter textfile.",
)
@click.option(
    "--run",
    "run_id",
    metavar="RUN",
    shell_complete=complete_run_ids,
    help="Add this rollout run from the journal (see `rdsca runs`).",
)
@journal_option
@click.option(
    "--readiness",
    "readiness_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Add the clients at risk from a saved `rdsca readiness --format json` result.",
)
@format_from_output
@click.pass_context
def report(
    ctx: click.Context,
    aws: AwsOptions,
    selection: Selection,
    warn_days: int,
    output: Path,
    title: str,
    fmt: str,
    run_id: str | None,
    readiness_file: Path | None,
    journal_path: Path | None,
) -> None:
    """Write the audit as one self-contained HTML file (or Markdown, or a Prometheus textfile).

    A file to open, attach to a change ticket or forward: a summary (by state, severity,
    account, region and env tag), an expiry timeline and a sortable, filterable table with the
    command that fixes each instance. It loads nothing from the network. The exit code is the
    audit's (4 when a target failed).

    \b
    Examples:
      rdsca report
      rdsca report --region eu-west-1 --tag env=prod -o prod.html
      rdsca report --run 20250301-120000-ab12cd -o change-1234.html
      rdsca report --readiness readiness.json
      rdsca report --format prometheus -o /var/lib/node_exporter/textfile/rdsca.prom
    """
    if fmt != "html" and (run_id or readiness_file):
        raise ConfigError("--run and --readiness add sections to the HTML report: use --format html")
    result = build_report(
        partial(resolve, aws),
        title=title,
        warn_days=warn_days,
        engines=selection.engines,
        tags=selection.tags,
        id_globs=selection.id_globs,
        readiness_file=readiness_file,
        run_id=run_id,
        open_journal=partial(open_journal, journal_path),
    )
    text = render(result, fmt)
    if fmt != "html" and output == DEFAULT_OUTPUT:
        output = Path("-")
    if str(output) == "-":
        emit(text, None)
    else:
        write_atomic(output, text)
        if not ctx.find_root().obj.get("quiet"):
            size = len(text.encode("utf-8")) / 1e6
            count = len(result.audit.verdicts)
            click.echo(f"wrote {output} ({size:.2f} MB, {plural_count(count, 'instance')})", err=True)
    ctx.exit(exit_code(result.audit, None))


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    Examples:
      eval "$(rdsca completion bash)"        # add to ~/.bashrc
      eval "$(rdsca completion zsh)"         # add to ~/.zshrc
      rdsca completion fish > ~/.config/fish/completions/rdsca.fish
    """
    cls = get_completion_class(shell)
    assert cls is not None  # click ships all three
    click.echo(cls(cli, {}, "rdsca", "_RDSCA_COMPLETE").source())


@cli.command("iam-policy")
@click.option(
    "--for",
    "capability",
    type=click.Choice(CAPABILITIES),
    default="audit",
    show_default=True,
    help="audit: read only; rotate: audit + change CAs; readiness: audit + what readiness reads.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=writable_file,
    help="Write to this file instead of standard output.",
)
def iam_policy(capability: str, output: Path | None) -> None:
    """Print the least-privilege IAM policy for audit, rotate or readiness.

    The actions are the ones rdsca's AWS calls declare, nothing more.

    \b
    Examples:
      rdsca iam-policy --for audit
      rdsca iam-policy --for rotate -o rdsca-rotate.json
      aws iam create-policy --policy-name rdsca-audit \\
          --policy-document "$(rdsca iam-policy --for audit)"
    """
    emit(render(read_iam_policy(capability), "json"), output)
