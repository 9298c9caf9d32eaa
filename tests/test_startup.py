"""``linclass`` starts fast: ``--help``, ``--version`` and the light commands import typer
and what they need, never scikit-learn, SciPy, matplotlib, Pillow, torch, Dask or
the playground's server (issue 27). Each check runs in a fresh interpreter, since the test
session itself has imported everything long ago."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

#: Modules that cost seconds to import and that no light command needs.
HEAVY = ("sklearn", "scipy", "matplotlib", "PIL", "torch", "dask", "distributed",
         "skimage", "starlette", "uvicorn", "zarr", "onnx", "onnxruntime", "skl2onnx")

#: Run in a fresh interpreter: import the command line, run ``linclass ARGS`` in-process
#: (click's CliRunner), print the exit code, the output and the heavy modules loaded.
PROBE = """
import json, sys
import linclass.cli
from typer.testing import CliRunner
result = CliRunner().invoke(linclass.cli.app, json.loads(sys.argv[1]))
heavy = json.loads(sys.argv[2])
print(json.dumps({"exit_code": result.exit_code, "output": result.output,
                  "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _probe(args: list[str], modules: tuple[str, ...] = HEAVY) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args), json.dumps(modules)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


#: Each light command, and whether it may import NumPy (explain computes with arrays).
LIGHT = [(["--help"], False), (["--version"], False), (["cache", "info"], False),
         (["cache", "--help"], False), (["explain", "--help"], True),
         (["explain", "--scores", "3.2,5.1,-1.7", "--label", "0"], True)]


@pytest.mark.parametrize("args, numpy", LIGHT, ids=[" ".join(a) for a, _ in LIGHT])
def test_light_commands_import_nothing_heavy(args, numpy):
    out = _probe(args, HEAVY + (() if numpy else ("numpy",)))
    assert out["exit_code"] == 0, out["output"]
    assert out["loaded"] == [], f"linclass {' '.join(args)} imported {out['loaded']}"


def test_help_lists_every_command_without_importing_them():
    out = _probe(["--help"])
    from linclass.cli import COMMANDS

    for name in COMMANDS:
        assert f" {name} " in out["output"], out["output"]
    loaded = subprocess.run([sys.executable, "-c", "import sys, linclass.cli; "
                             "print(sorted(m for m in sys.modules if m.startswith('linclass')))"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    assert "linclass.cli.common" not in loaded and "linclass.cli.train" not in loaded, loaded


def test_the_root_help_summaries_are_the_commands_own(cli):
    """The summaries ``linclass --help`` shows without importing the commands are the
    first paragraph of each command's own help (what click would show had it loaded it)."""
    from linclass.cli import COMMANDS, load_command

    for name, spec in COMMANDS.items():
        command = load_command(name)
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert spec.summary == first, (name, spec.summary, first)
        assert hasattr(command, "list_commands") == (name == "cache")  # a group


def test_version_prints_the_package_version(cli):
    result = cli(["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"linclass {version('linclass')}"


def test_version_of_the_console_script():
    proc = subprocess.run([sys.executable, "-m", "linclass.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"linclass {version('linclass')}"


def test_sparse_input_is_recognised_without_importing_scipy_for_dense():
    """``linclass.sparsity.issparse`` answers no without SciPy (no sparse matrix can exist
    before ``scipy.sparse`` is loaded) and asks SciPy once it is loaded."""
    import numpy as np
    import scipy.sparse as sp

    from linclass.sparsity import issparse

    assert issparse(sp.csr_matrix(np.eye(2))) and issparse(sp.csc_array(np.eye(2)))
    assert not issparse(np.eye(2)) and not issparse([[1.0]])
    code = ("import sys, numpy as np; from linclass.sparsity import issparse; "
            "print(issparse(np.eye(2)), 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["False", "False"]
