"""Slack's checks of Block Kit blocks and modal views, with the error strings Slack answers
(`invalid_blocks`, `view` errors)."""

from __future__ import annotations

from typing import Any, Final

# https://docs.slack.dev/reference/block-kit/blocks : the limits Slack's validator enforces,
# reported the way Slack reports them ("must be less than 3001 characters [json-pointer:…]").
BLOCK_TYPES: Final = frozenset({
    "actions", "context", "divider", "file", "header", "image", "input", "markdown",
    "rich_text", "section", "table", "video",
})


def _text_errors(obj: Any, at: str, limit: int, *, plain: bool = False,
                 required: bool = True) -> list[str]:
    if obj is None:
        return [f"missing required field: text [json-pointer:{at}]"] if required else []
    if not isinstance(obj, dict):
        return [f"must be an object [json-pointer:{at}]"]
    allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [f"must be one of: {', '.join(allowed)} [json-pointer:{at}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}/text]"]
    return []


def _list_errors(value: Any, at: str, most: int) -> list[str]:
    if not isinstance(value, list) or not value:
        return [f"must provide at least 1 item [json-pointer:{at}]"]
    if len(value) > most:
        return [f"must provide no more than {most} items [json-pointer:{at}]"]
    return []


def _one_block_errors(block: dict[str, Any], at: str) -> list[str]:
    kind = block["type"]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        errors.append(f"must be less than 256 characters [json-pointer:{at}/block_id]")
    if kind == "section":
        fields = block.get("fields")
        if block.get("text") is None and fields is None:
            errors.append(f"must provide either text or fields [json-pointer:{at}]")
        errors += _text_errors(block.get("text"), f"{at}/text", 3000, required=False)
        if fields is not None:
            errors += _list_errors(fields, f"{at}/fields", 10)
            for i, field in enumerate(fields if isinstance(fields, list) else []):
                errors += _text_errors(field, f"{at}/fields/{i}", 2000)
    elif kind == "header":
        errors += _text_errors(block.get("text"), f"{at}/text", 150, plain=True)
    elif kind == "context":
        errors += _list_errors(block.get("elements"), f"{at}/elements", 10)
    elif kind == "actions":
        errors += _list_errors(block.get("elements"), f"{at}/elements", 25)
    elif kind == "input":
        errors += _text_errors(block.get("label"), f"{at}/label", 2000, plain=True)
        if not isinstance(block.get("element"), dict):
            errors.append(f"missing required field: element [json-pointer:{at}]")
    elif kind == "image":
        if not block.get("image_url") and not block.get("slack_file"):
            errors.append(f"missing required field: image_url [json-pointer:{at}]")
        alt = block.get("alt_text")
        if not isinstance(alt, str) or not alt or len(alt) > 2000:
            errors.append(f"must be 1 to 2000 characters [json-pointer:{at}/alt_text]")
    elif kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text or len(text) > 12000:
            errors.append(f"must be 1 to 12000 characters [json-pointer:{at}/text]")
    return errors


def block_errors(blocks: Any, *, pointer: str = "/blocks", most: int = 50) -> list[str]:
    """What Slack's Block Kit validator would say about `blocks`; empty when they pass."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(blocks) > most:
        errors.append(f"no more than {most} items allowed [json-pointer:{pointer}]")
    for i, block in enumerate(blocks):
        at = f"{pointer}/{i}"
        if not isinstance(block, dict):
            errors.append(f"must be an object [json-pointer:{at}]")
            continue
        kind = block.get("type")
        if not isinstance(kind, str) or not kind:
            errors.append(f"missing required field: type [json-pointer:{at}]")
        elif kind not in BLOCK_TYPES:
            errors.append(f"unsupported type: {kind} [json-pointer:{at}/type]")
        else:
            errors += _one_block_errors(block, at)
    return errors


def view_errors(view: Any) -> list[str]:
    """What Slack says about a modal view object (views.open / views.update); empty if fine."""
    # https://docs.slack.dev/reference/views/modal-views : title, submit and close are
    # plain_text of at most 24 characters; up to 100 blocks; submit is required when an input
    # block is present; callback_id and external_id at most 255, private_metadata 3000.
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("must be one of: modal [json-pointer:/view/type]")
    errors += _text_errors(view.get("title"), "/view/title", 24, plain=True)
    for name in ("submit", "close"):
        errors += _text_errors(view.get(name), f"/view/{name}", 24, plain=True, required=False)
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("missing required field: blocks [json-pointer:/view]")
    else:
        errors += block_errors(blocks, pointer="/view/blocks", most=100)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            errors.append("missing required field: submit [json-pointer:/view]")
    for name, limit in (("callback_id", 255), ("external_id", 255), ("private_metadata", 3000)):
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(f"must be less than {limit + 1} characters [json-pointer:/view/{name}]")
    return errors
