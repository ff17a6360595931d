"""The ``bastide`` command: thin command modules over the domain logic in ``bastide.core``."""

from __future__ import annotations

import sys

import click

from bastide.i18n import Messages, translate_click

# Before any command module is imported: click reads some of its texts when an option or a type
# is built (the --version help, the FILE/DIRECTORY metavars), and they must come out in French too.
translate_click()

from bastide import __version__  # noqa: E402
from bastide.commands import agent as agent_commands  # noqa: E402
from bastide.commands import backup as backup_commands  # noqa: E402
from bastide.commands import compliance as compliance_commands  # noqa: E402
from bastide.commands import deploy as deploy_commands  # noqa: E402
from bastide.commands import drive as drive_commands  # noqa: E402
from bastide.commands import inventory as inventory_commands  # noqa: E402
from bastide.commands import keys as keys_commands  # noqa: E402
from bastide.commands import lab as lab_commands  # noqa: E402
from bastide.commands import rdv as rdv_commands  # noqa: E402
from bastide.commands import sync as sync_commands  # noqa: E402
from bastide.commands import tls as tls_commands  # noqa: E402
from bastide.console import err, show_problems  # noqa: E402
from bastide.errors import BastideError, InputError  # noqa: E402

_ = Messages("cli")


class BastideGroup(click.Group):
    """Turns bastide's own errors into a clear message and the documented exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InputError as error:
            show_problems(error.problems, _("input.title", count=len(error.problems)))
            err.print(_("input.nothing_changed"))
            sys.exit(error.exit_code)
        except BastideError as error:
            err.print(f"[bold red]{_('error.prefix')}[/] {error}")
            sys.exit(error.exit_code)


@click.group(
    cls=BastideGroup, help=_("cmd.main.help"), context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="bastide")
def main() -> None:
    pass


for module in (
    agent_commands,
    inventory_commands,
    deploy_commands,
    lab_commands,
    keys_commands,
    compliance_commands,
    tls_commands,
    drive_commands,
    sync_commands,
    rdv_commands,
    backup_commands,
):
    module.register(main)
