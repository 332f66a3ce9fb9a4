"""Reading submitted page forms: text fields and checkboxes."""

from __future__ import annotations

from starlette.datastructures import FormData

__all__ = ["checked", "text"]


def text(form: FormData, name: str) -> str:
    """The field's text; '' when absent or a file was sent instead."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def checked(form: FormData, name: str) -> bool:
    """Whether a checkbox was ticked (browsers send "on"; scripts may send 1 or true)."""
    return text(form, name) in ("on", "1", "true", "yes")
