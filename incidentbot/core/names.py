"""Incident names (`YYYYMMDD-adjective-animal`) and the Slack channel names made from them."""

from __future__ import annotations

import re
import string
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from incidentbot.core.errors import InvalidInput

# Neutral words only: a name is read aloud on calls and pasted into status updates.
ADJECTIVES = (
    "amber", "ample", "azure", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crisp",
    "curious", "dapper", "eager", "early", "fancy", "fluffy", "frosty", "gentle", "gilded",
    "glad", "golden", "grand", "happy", "hardy", "honest", "humble", "jolly", "keen", "kind",
    "lively", "loyal", "lucky", "lunar", "mellow", "merry", "mighty", "misty", "modest",
    "nimble", "noble", "olive", "patient", "plucky", "polite", "proud", "quick", "quiet",
    "rapid", "rosy", "royal", "rustic", "sandy", "silver", "smooth", "snowy", "solar",
    "steady", "sunny", "swift", "tidy", "upbeat", "velvet", "vivid", "witty",
)
ANIMALS = (
    "badger", "beaver", "bison", "bobcat", "camel", "cheetah", "condor", "cougar", "coyote",
    "crane", "dingo", "dolphin", "eagle", "egret", "falcon", "ferret", "finch", "gazelle",
    "gecko", "gibbon", "heron", "hippo", "ibis", "iguana", "impala", "jackal", "jaguar",
    "koala", "lemur", "leopard", "llama", "lynx", "magpie", "marmot", "marten", "meerkat",
    "moose", "narwhal", "newt", "ocelot", "orca", "osprey", "otter", "owl", "panda", "pelican",
    "penguin", "puffin", "quail", "rabbit", "raven", "salmon", "seal", "sparrow", "stork",
    "tapir", "toucan", "turtle", "walrus", "weasel", "wombat", "yak", "zebra", "robin",
)
_TOTAL = len(ADJECTIVES) * len(ANIMALS)
# Coprime with _TOTAL, so consecutive issue numbers land far apart and no two of any
# _TOTAL consecutive numbers share a name.
_STEP = 2654435761 % _TOTAL | 1


def incident_name(number: int, opened: date, repository: str = "") -> str:
    """`YYYYMMDD-adjective-animal`, the same every time for the same issue.

    The words come from the issue number (scrambled, offset by the repository), so a re-run,
    another runner or the dispatcher all compute the same name with nothing stored.
    """
    if number < 1:
        raise InvalidInput(f"issue number must be positive, got {number}")
    offset = zlib.crc32(repository.encode("utf-8")) % _TOTAL
    k = (number * _STEP + offset) % _TOTAL
    adjective, animal = ADJECTIVES[k // len(ANIMALS)], ANIMALS[k % len(ANIMALS)]
    return f"{opened:%Y%m%d}-{adjective}-{animal}"


@dataclass(frozen=True, slots=True)
class Guess:
    """An issue a typed name may belong to, and the name its card must have to be it: the
    whole name (`20261122-brave-otter`), its words alone when no date was typed, or None when
    the number itself was read from a channel name."""

    number: int
    name: str | None


_NAME = re.compile(r"(?:(?<=^)|(?<=[-_]))(?:(\d{8})-)?(" + "|".join(ADJECTIVES) + r")-("
                   + "|".join(ANIMALS) + r")(?=$|[-_])")


def guesses(ref: str, pattern: str, repository: str, *, tries: int = 3) -> list[Guess]:
    """The issues an incident's name or its channel's name (`pattern` filled in, maybe with a
    `-2` or `-resolved` suffix) can belong to, without reading any: a number the pattern's
    `{number}` shows, else the numbers whose words are the name's (`incident_name` run
    backwards: one in every 4,096 issues, the lowest `tries` of them). Each guess must still
    be checked against the issue's card; an empty list: the name says nothing cheap."""
    text = ref.strip().lstrip("#").lower()
    found: list[Guess] = []
    numbered = _pattern_regex(pattern).match(text) if "number" in pattern_placeholders(
        pattern) else None
    if numbered is not None:
        found.append(Guess(int(numbered.group("number")), None))
    words = _NAME.search(text)
    if words is not None:
        day, adjective, animal = words.groups()
        k = ADJECTIVES.index(adjective) * len(ANIMALS) + ANIMALS.index(animal)
        offset = zlib.crc32(repository.encode("utf-8")) % _TOTAL
        first = (k - offset) * pow(_STEP, -1, _TOTAL) % _TOTAL or _TOTAL
        name = f"{day}-{adjective}-{animal}" if day else f"{adjective}-{animal}"
        found += [Guess(first + _TOTAL * j, name) for j in range(tries)]
    return found


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A channel pattern as a regex that captures `{number}` (suffixes after it allowed)."""
    fills = {"date": r"\d{8}", "name": r"\d{8}-[a-z]+-[a-z]+", "words": r"[a-z]+-[a-z]+"}
    parts, numbered = [], False
    for literal, field, _, _ in string.Formatter().parse(pattern):
        parts.append(re.escape(literal.lower()))
        if field == "number":
            parts.append(r"(?P=number)" if numbered else r"(?P<number>\d+)")
            numbered = True
        elif field is not None:
            parts.append(fills.get(field, r"[a-z0-9_-]+?"))
    return re.compile("".join(parts) + r"(?=$|[-_])")
# https://api.slack.com/methods/conversations.create#naming
CHANNEL_NAME_MAX = 80
_CHANNEL_OK = re.compile(r"[a-z0-9_-]{1,80}")
PLACEHOLDERS = ("name", "number", "date", "words")


def is_valid_channel_name(name: str) -> bool:
    """Slack's rule: lowercase letters, digits, hyphens, underscores; 1 to 80 characters."""
    return _CHANNEL_OK.fullmatch(name) is not None


def slackify(text: str) -> str:
    """Text made into a valid Slack channel name (lowercase, `-` for anything else, <= 80)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", folded.lower())
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-_")
    return cleaned[:CHANNEL_NAME_MAX].rstrip("-_") or "incident"


def pattern_placeholders(pattern: str) -> list[str]:
    """The `{placeholders}` a channel name pattern uses; ValueError if it is malformed."""
    return [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]


def channel_name(pattern: str, name: str, number: int, suffix: int = 0) -> str:
    """The channel for an incident: `pattern` filled in, made Slack-valid, with `-N` if N > 0.

    The suffix is kept within the 80-character limit by shortening the rest.
    """
    date_part, _, words = name.partition("-")
    values: Mapping[str, str] = {"name": name, "number": str(number), "date": date_part,
                                 "words": words}
    base = slackify(pattern.format_map(values))
    if suffix <= 0:
        return base
    tail = f"-{suffix}"
    return base[: CHANNEL_NAME_MAX - len(tail)].rstrip("-_") + tail


def postmortem_path(directory: str, opened: datetime, name: str) -> str:
    """Where an incident's postmortem is committed: `<directory>/YYYY-MM/<name>.md`."""
    return f"{directory}/{opened:%Y-%m}/{name}.md"
