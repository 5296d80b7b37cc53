"""Names a package imports from its modules when first used (PEP 562): every kernel of a server with this
extension loads the kernel side at start, and most never touch openEO; the hub imports the package with nothing
of the rest installed."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def names_from(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: each name of `where` comes from its module (relative to the
    package), imported when the name is first asked for and kept in the package from then on."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)  # asked once
        return value

    return __getattr__
