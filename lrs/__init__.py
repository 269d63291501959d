"""The LRS service: the HTTP-free service core (`lrs.service`), the Flask app over it
(`create_app`), authentication, and the `lrs` command.

`create_app` is imported on first use, so `import lrs.service` (the CLI, bench scripts,
other tools) never imports Flask.
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from lrs.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> typing.Any:
    if name == "create_app":
        from lrs.app import create_app

        return create_app
    raise AttributeError(f"module 'lrs' has no attribute {name!r}")
