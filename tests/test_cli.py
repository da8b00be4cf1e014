"""The command line on bad input: clear errors (exit 2), never a traceback or a silent empty result."""

from pathlib import Path

from tests.conftest import run_yuqing, write_config
from tests.test_checker import SCHEMES


def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, sources="sources: []\n", schemes=SCHEMES)


def test_read_commands_refuse_a_missing_database(tmp_path: Path) -> None:
    out = run_yuqing(config(tmp_path), "stats", env={"YUQING_STORE": f"sqlite:///{tmp_path}/typo/y.db"})
    assert out.returncode == 2 and "no such database" in out.stderr
    assert not (tmp_path / "typo").exists()


def test_config_problems_are_one_clear_line(tmp_path: Path) -> None:
    for args, fragment in ((["--config", str(tmp_path)], "is a folder"),
                           (["--config", str(tmp_path / "nope.yaml")], "file not found")):
        out = run_yuqing(config(tmp_path), *args, "stats")
        assert out.returncode == 2 and fragment in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "config" / "schemes.yaml").write_text("schemes:\n  - id: a\n    id: b\n", encoding="utf-8")
    out = run_yuqing(config_path := tmp_path / "config" / "yuqing.yaml", "stats")
    assert out.returncode == 2 and "key 'id' appears twice" in out.stderr, config_path


def test_import_errors(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    for args, fragment in ((["import", str(tmp_path / "nope.jsonl")], "file not found"),
                           (["import", str(tmp_path)], "is a folder"),
                           (["import", str(cfg), "--map", "text"], "use OURS=THEIRS"),
                           (["import", str(cfg), "--map", "body=content"], "'body' is not one of our fields")):
        out = run_yuqing(cfg, *args)
        assert out.returncode == 2 and fragment in out.stderr and "Traceback" not in out.stderr, out.stderr[-800:]


def test_import_reports_non_utf8_lines_and_duplicates(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    path = tmp_path / "export.jsonl"
    path.write_bytes('{"text": "停水了", "id": 1}\n'.encode() + '{"text": "供水问题"}\n'.encode("gbk")
                     + '{"text": "又停水了", "id": 1}\n'.encode())
    out = run_yuqing(cfg, "import", str(path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "export.jsonl:2: skipped: not UTF-8" in out.stderr
    assert "1 dropped (duplicate_id)" in out.stdout and "1 new" in out.stdout


def test_stories_refuses_reversed_ranges_and_silly_limits(tmp_path: Path) -> None:
    config = write_config(tmp_path, schemes="schemes: []\n", sources="sources: []\n")
    reversed_ = run_yuqing(config, "stories", "--since", "2020-02-10", "--until", "2020-02-01")
    assert reversed_.returncode == 2 and "--until 2020-02-01 is not after --since 2020-02-10" in reversed_.stderr
    zero = run_yuqing(config, "stories", "--limit", "0")
    assert zero.returncode == 2 and "0 is not at least 1" in zero.stderr
    future = run_yuqing(config, "briefing", "--date", "2999-01-01")
    assert future.returncode == 2 and "has not happened yet" in future.stderr
