"""Configuration errors name the file, the key and what is wrong."""

from pathlib import Path

import pytest

from pipeline.config import load_settings, parse_duration
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp: Path, main: str = "", sources: str = "sources: []\n", schemes: str = "schemes: []\n") -> Path:
    (tmp / "yuqing.yaml").write_text(main, encoding="utf-8")
    (tmp / "sources.yaml").write_text(sources, encoding="utf-8")
    (tmp / "schemes.yaml").write_text(schemes, encoding="utf-8")
    return tmp / "yuqing.yaml"


def test_shipped_config_is_valid() -> None:
    settings = load_settings(ROOT / "config" / "yuqing.yaml")
    assert settings.app.timezone == "Asia/Shanghai"
    assert {s.name for s in settings.sources} >= {"demo-hot-search", "demo-weibo-search"}
    assert settings.schemes


def test_typo_in_a_key_names_file_key_and_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, "smtp:\n  hots: mail.example.com\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    msg = str(err.value)
    assert str(path) in msg and "smtp.hots" in msg and "did you mean 'host'" in msg


def test_typo_in_a_scheme_names_the_scheme_index(tmp_path: Path) -> None:
    path = _write(tmp_path, schemes="schemes:\n  - {id: a, name: A, any: [x], recipents: []}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    msg = str(err.value)
    assert "schemes.yaml" in msg and "schemes.0.recipents" in msg and "recipients" in msg


@pytest.mark.parametrize(("schemes", "fragment"), [
    ("schemes:\n  - {id: a, name: A}\n", "at least one keyword"),
    ("schemes:\n  - {id: 'a b', name: A, any: [x]}\n", "schemes.0.id"),
    ("schemes:\n  - {id: a, name: A, any: [x], alert: {window: soon}}\n", "not a duration"),
    ("schemes:\n  - {id: a, name: A, any: [x]}\n  - {id: a, name: B, any: [y]}\n", "duplicate name 'a'"),
    ("schemes:\n  - {id: a, name: A, any: [x], level_recipients: {特大: [x@y.z]}}\n", "unknown levels"),
    ("schemes:\n  - {id: a, name: A, any: [x], alert: {levels: {高: 2, 低: 1}}}\n", "must start at 1.0"),
])
def test_bad_schemes(tmp_path: Path, schemes: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(_write(tmp_path, schemes=schemes))


def test_weibo_source_without_keywords(tmp_path: Path) -> None:
    sources = "sources:\n  - {name: w, spider: weibo, urls: ['https://m.weibo.cn']}\n"
    with pytest.raises(ConfigError, match=r"needs `keywords`"):
        load_settings(_write(tmp_path, sources=sources))


def test_unknown_spider_lists_the_choices(tmp_path: Path) -> None:
    sources = "sources:\n  - {name: w, spider: wechat, urls: ['https://x']}\n"
    choices = r"'rss', 'news', 'weibo', 'tieba' or 'jsonl'"
    with pytest.raises(ConfigError, match=r"sources\.0\.spider: Input should be " + choices):
        load_settings(_write(tmp_path, sources=sources))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_settings(_write(tmp_path, "store: [unclosed\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_settings(_write(tmp_path, "timezone: Mars/Olympus\n"))


def test_store_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_STORE", "sqlite:///elsewhere.db")
    assert load_settings(_write(tmp_path)).app.store == "sqlite:///elsewhere.db"


def test_smtp_password_only_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"smtp\.password: unknown key"):
        load_settings(_write(tmp_path, "smtp:\n  password: hunter2\n"))
    monkeypatch.setenv("MY_SMTP_PW", "s3cret")
    settings = load_settings(_write(tmp_path, "smtp:\n  password_env: MY_SMTP_PW\n"))
    assert settings.app.smtp.password() == "s3cret"


def test_durations() -> None:
    assert parse_duration("15m").total_seconds() == 900
    assert parse_duration("1d").days == 1
    assert parse_duration(30).total_seconds() == 30


@pytest.mark.parametrize(("cookie", "fragment"), [
    ("SUB=_2A25abc…; SUBP=0033", "contains '…' at position 12"),
    ("SUB=abc\nSUBP=1", "line break"),
    ("just-a-token", "name=value pairs"),
])
def test_b25_pasted_cookie_is_validated_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               cookie: str, fragment: str) -> None:
    monkeypatch.setenv("WEIBO_COOKIE", cookie)
    sources = ("sources:\n  - {name: w, spider: weibo, urls: ['https://m.weibo.cn'], keywords: [x], "
               "cookie_env: WEIBO_COOKIE}\n")
    with pytest.raises(ConfigError, match=fragment) as err:
        load_settings(_write(tmp_path, sources=sources))
    assert "source w" in str(err.value) and "WEIBO_COOKIE" in str(err.value)
    monkeypatch.setenv("WEIBO_COOKIE", "SUB=_2A25abc; SUBP=0033")
    assert load_settings(_write(tmp_path, sources=sources)).sources[0].cookie() == "SUB=_2A25abc; SUBP=0033"
