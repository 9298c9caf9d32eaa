"""The README's commands and code blocks, run as a newcomer would run them.

Every ``linclass ...`` line of the README's shell examples runs in a scratch folder, with
the README's placeholder paths (``path/to/folder``, ``shoe.png``, ``houses.csv``) made
real; the ``explain`` transcript is compared line by line; the Python block is executed
and its commented results checked. Two things are bounded so the suite stays fast: runs on
Fashion-MNIST get ``--limit 3000`` (the same command on a stratified subset), and
``linclass playground`` (a server) is only started and stopped by
``tests/test_playground_cli.py``. ``make run`` / ``make test`` are what CI itself runs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def code_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def shell_commands() -> list[list[str]]:
    commands = []
    for block in code_blocks("bash"):
        for line in block.splitlines():
            if line.strip().startswith("linclass "):
                commands.append(shlex.split(line, comments=True)[1:])
    return commands


def fashion_installed() -> bool:
    from linclass.data import DataError, load_dataset

    try:
        load_dataset("fashion-mnist")
    except DataError:
        return False
    return True


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder holding what the README's placeholders name."""
    root = tmp_path_factory.mktemp("readme")
    rng = np.random.default_rng(0)
    for c, name in enumerate(("cat", "dog", "frog")):
        (root / "path/to/folder" / name).mkdir(parents=True)
        for i in range(12):
            pixels = (rng.random((28, 28)) * 60 + 90 * c).astype(np.uint8)
            Image.fromarray(pixels, "L").save(root / "path/to/folder" / name / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8), "L").save(root / "shoe.png")
    area = rng.uniform(30, 200, 80)
    rooms = rng.integers(1, 6, 80)
    price = 2.5 * area + 10 * rooms + rng.normal(0, 5, 80)
    rows = zip(area, rooms, price, strict=True)
    lines = ["area,rooms,price"] + [f"{a:.2f},{r},{p:.2f}" for a, r, p in rows]
    (root / "houses.csv").write_text("\n".join(lines) + "\n")
    return root


def test_the_readme_shows_commands_and_code():
    commands = shell_commands()
    assert len(commands) >= 10 and code_blocks("python")
    assert {c[0] for c in commands} >= {"train", "evaluate", "predict", "search", "explain",
                                        "gradcheck", "plot", "playground", "regress"}


@pytest.mark.usefixtures("quick_pictures")  # exit codes and output, not the pictures
def test_every_shell_command_runs(cli, scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    has_fashion = fashion_installed()
    ran = 0
    for args in shell_commands():
        if args[0] == "playground":
            continue
        if "fashion-mnist" in args:
            if not has_fashion:
                continue
            if args[0] in ("train", "search"):
                args = [*args, "--limit", "3000"]
        if args[0] == "train":
            args = [*args, "--quiet"]
        if args[:3] == ["search", "--dataset", "digits"]:
            args = [*args, "--jobs", "1"]
        result = cli(args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        ran += 1
    assert ran >= 10


def test_the_explain_transcript_matches(cli):
    transcript = re.search(r"\$ (linclass explain [^\n]*)\n(.*?)```", README, flags=re.S)
    assert transcript is not None
    command, expected = transcript.group(1), transcript.group(2)
    result = cli(shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == expected.split()


def test_the_python_block_runs_and_its_comments_hold(scratch, monkeypatch):
    (block,) = code_blocks("python")
    if "fashion-mnist" in block and not fashion_installed():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    monkeypatch.chdir(scratch)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    # lines like `svm_loss(scores, labels)[0]   # 5.27 = ...` state their value
    for expr, value in re.findall(r"^(\S[^#\n]*?)\s+#\s*(?:-log\([\d.]+\) = )?([\d.]+)\b",
                                  block, flags=re.M):
        if re.match(r"^\w+ = ", expr):
            continue
        assert eval(expr, namespace) == pytest.approx(float(value), abs=0.01), expr
    assert Path("fashion-svm.safetensors").is_file()
    assert namespace["model"].score(namespace["data"].X_test, namespace["data"].y_test) > 0.8
