"""Imports flow one way, ui -> simulator -> ipc: the core packages never load Qt."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["ipc", "simulator"])
def test_core_packages_load_no_qt(package):
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'PySide6', 'shiboken6', 'pyqtgraph', 'ui'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{package} loaded {out.stdout.strip()}"


def test_ipc_imports_nothing_outside_the_standard_library():
    code = (
        "import sys, importlib, pkgutil\n"
        "before = set(sys.modules)\n"
        "import ipc\n"
        "for m in pkgutil.walk_packages(ipc.__path__, 'ipc.'):\n"
        "    importlib.import_module(m.name)\n"
        "std = sys.stdlib_module_names\n"
        "extra = sorted({n.split('.')[0] for n in set(sys.modules) - before} - std - {'ipc', '__mp_main__'})\n"
        "print(','.join(extra))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
