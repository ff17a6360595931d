"""Errors the CLI turns into messages and exit codes.

Exit codes: 0 success, 1 a run failed (a host or task failed), 2 bad input (inventory, options,
role variables) detected before anything ran, 3 the controller lacks something (a system
package, the lab) and the message says what to run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located precisely enough to fix it."""

    file: str
    field: str
    message: str
    fix: str
    line: int | None = None

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


class BastideError(Exception):
    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(BastideError):
    """The input is wrong; nothing has been changed anywhere."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("; ".join(f"{p.location()}: {p.field}: {p.message}" for p in self.problems))


class EnvironmentProblem(BastideError):
    """The controller lacks something; the message gives the exact command to fix it."""

    exit_code = EXIT_ENVIRONMENT


@dataclass
class RunFailure(BastideError):
    """An Ansible run finished with failed or unreachable hosts."""

    summary: object = field(default=None)
    exit_code: int = EXIT_FAILED

    def __post_init__(self) -> None:
        super().__init__("the run failed on at least one host")
