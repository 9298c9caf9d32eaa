"""``linclass plot``: re-draw a run's pictures and report from its folder."""

import json
import shutil


def test_redraws_every_picture_and_the_report(cli, cli_run, one_line_error, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(cli_run, run)
    one_line_error(cli(["plot", run]), "--force")  # pictures exist
    for name in ("templates.png", "history.png", "confusion.png", "landscape.png",
                 "report.html", "report.md"):
        (run / name).unlink()
    result = cli(["plot", run])
    assert result.exit_code == 0, result.output
    for name in ("templates", "history", "confusion", "landscape"):
        data = (run / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, name
    assert (run / "report.html").read_text().count("data:image/png;base64,") == 4
    assert cli(["plot", run, "--force"]).exit_code == 0


def test_not_a_run_folder(cli, cli_run, one_line_error, tmp_path):
    one_line_error(cli(["plot", tmp_path]), "model.safetensors")
    one_line_error(cli(["plot", tmp_path / "missing"]), "not a folder")
    run = tmp_path / "run"
    shutil.copytree(cli_run, run)
    (run / "metrics.json").write_text(json.dumps({"data": {}}))
    one_line_error(cli(["plot", run, "--force"]), "which dataset")
    assert cli(["plot"]).exit_code == 2
