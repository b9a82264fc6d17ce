"""The errors incidentbot raises, each carrying what a person needs to act on it.

    IncidentbotError                 base (cli.exit_code maps each kind to the CLI's exit code)
     ├── ConfigError                 incidentbot.yml is wrong: file, line, key, expected
     │    └── ConfigErrors           several ConfigErrors found in one pass
     ├── MissingSetting              an environment variable (or secret) is not set
     ├── InvalidInput                a command's argument is wrong (a title, a status, a label)
     │    └── TransitionNotAllowed   a status move the workflow forbids
     └── ServiceError                GitHub, Slack or PagerDuty failed after retries
          ├── NotFound               the issue, channel or file does not exist
          ├── AuthFailed             the token was refused
          ├── Conflict               the name is taken, the thing already exists
          └── RateLimited            the API asked us to wait `retry_after` seconds
"""

from __future__ import annotations

from collections.abc import Sequence


class IncidentbotError(Exception):
    """Base of every error incidentbot raises on purpose."""


class ConfigError(IncidentbotError):
    """One problem in a configuration file, located as `file:line: key: expected X, got Y`."""

    def __init__(
        self, message: str, *, path: str = "incidentbot.yml", line: int | None = None,
        key: str = "",
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.detail = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class ConfigErrors(ConfigError):
    """Every problem found in one configuration file, so a person can fix them in one go."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        super().__init__(first.detail, path=first.path, line=first.line, key=first.key)
        self.args = ("\n".join(str(e) for e in self.errors),)

    def __str__(self) -> str:
        return str(self.args[0])


class MissingSetting(IncidentbotError):
    """A required environment variable is unset; the message names it, never a value."""

    def __init__(self, name: str, purpose: str) -> None:
        self.name = name
        self.purpose = purpose
        super().__init__(f"{name} is not set: {purpose}")


class InvalidInput(IncidentbotError):
    """A command's argument is wrong; nothing was changed."""


class TransitionNotAllowed(InvalidInput):
    """The status workflow forbids this move."""

    def __init__(self, current: str, target: str, allowed: Sequence[str]) -> None:
        self.current = current
        self.target = target
        self.allowed = tuple(allowed)
        choices = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"cannot move an incident from {current} to {target}; from {current} it can go to: "
            f"{choices}"
        )


class ServiceError(IncidentbotError):
    """An external API failed after the retries it allows."""

    def __init__(self, service: str, message: str, *, transient: bool = False) -> None:
        self.service = service
        # The connection failed or the service answered 5xx: another try may succeed.
        self.transient = transient
        super().__init__(f"{service}: {message}")


class NotFound(ServiceError):
    """The thing asked for does not exist (or the token cannot see it)."""


class Conflict(ServiceError):
    """The name is taken, or the thing already exists in another form."""


class AuthFailed(ServiceError):
    """The service refused the token."""


class RateLimited(ServiceError):
    """The service asked us to wait before trying again."""

    def __init__(self, service: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(service, f"rate limited; retry after {retry_after:g} s")
