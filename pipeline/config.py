"""Configuration: YAML under config/, validated with pydantic, loaded once.

``config/yuqing.yaml`` names the other files (sources, schemes, user dictionary) relative
to itself. Every model forbids unknown keys, so a typo is an error that names the file,
the key path and the nearest valid key instead of a silently ignored setting. Secrets
never live here: the SMTP password is read from the environment variable named by
``smtp.password_env``.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError, open_input

DEFAULT_CONFIG = Path("config/yuqing.yaml")
STORE_ENV = "YUQING_STORE"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """'15m', '1h', '1d' or seconds as a number."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration; use e.g. 15m, 1h, 1d")
    return timedelta(**{_DURATION_UNITS[m.group(2)]: int(m.group(1))})


def cookie_problem(value: str) -> str | None:
    """Why a pasted cookie cannot be sent as a header (B25), or None when it can."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        return (f"contains {value[exc.start]!r} at position {exc.start}, "
                "which HTTP headers cannot carry (a truncated paste?)")
    if any(ch in value for ch in "\r\n"):
        return "contains a line break"
    pairs = [p.strip() for p in value.split(";") if p.strip()]
    if not pairs or any("=" not in p for p in pairs):
        return "is not a list of name=value pairs separated by ';'"
    return None


Duration = Annotated[timedelta, Field(json_schema_extra={"format": "duration"})]
# How much a source's word counts when a story is verified (issue 7): an official account or
# site confirms on its own, two independent mainstream media confirm together.
Tier = Literal["official", "mainstream", "self_media", "anonymous"]
TIERS: tuple[str, ...] = get_args(Tier)
PLATFORM_TIERS: dict[str, Tier] = {"news": "mainstream", "rss": "mainstream", "weibo": "self_media",
                                   "wechat": "self_media", "tieba": "anonymous", "forum": "anonymous"}
# What analysts read for a platform (e-mails, exports, reports); a platform not listed is shown as named.
PLATFORM_ZH: dict[str, str] = {"weibo": "微博", "news": "新闻网站", "rss": "RSS订阅", "wechat": "微信公众号",
                               "tieba": "贴吧", "forum": "论坛", "hotline": "热线工单", "internal": "内部渠道",
                               "weibo_hot_search": "微博热搜"}


def platform_zh(platform: str | None) -> str:
    """The Chinese name of a platform, or the platform as configured when it has none."""
    return PLATFORM_ZH.get(platform or "", platform or "未知")


DEBUNK_TERMS = ("辟谣", "不实", "谣言", "假消息", "经核实", "系谣传", "网传不实", "并非事实", "纯属捏造", "予以澄清")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    # or a teacher: nlp/models/yuqing-sentiment-small, or nlp/models/yuqing-sentiment-deep once built
    path: str = "nlp/models/yuqing-sentiment-fast"
    batch_size: int = Field(64, ge=1, le=1024)
    uncertain_below: float = Field(0.5, ge=0, le=1)
    allow_hub: bool = False  # True lets `path` be a model-hub id fetched over the network
    # auto: what the model's config.json says (the shipped student runs int8); none: fp32 throughout
    quantize: Literal["auto", "none", "int8"] = "auto"


class SmtpConfig(_Strict):
    host: str | None = None  # None: write e-mails to the outbox only
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password_env: str = "YUQING_SMTP_PASSWORD"
    sender: str = "舆情监测 <yuqing@localhost>"
    timeout: float = Field(15.0, gt=0)
    # A send is tried 1 + `retries` times, `retry_delay` seconds apart, doubling; a send that
    # still fails is retried by later checks with a growing pause (1 min, 2, 4, … at most 1 h).
    retries: int = Field(2, ge=0, le=10)
    retry_delay: float = Field(1.0, ge=0)

    def password(self) -> str | None:
        return os.environ.get(self.password_env)


class CrawlConfig(_Strict):
    user_agent: str = "yuqing/0.1 (+https://github.com/yuqing; public-opinion monitor)"
    download_delay: float = Field(1.0, ge=0)
    concurrency_per_domain: int = Field(1, ge=1, le=32)
    batch_size: int = Field(64, ge=1)
    memory_limit_mb: int = Field(4096, ge=0)  # the model and jieba alone take ~1 GB
    # Scrapy JOBDIRs go under this folder: a crawl killed midway resumes its queue next time.
    # "auto": `jobs/` beside the SQLite file (data/jobs for Elasticsearch); null: no resume.
    jobdir: str | None = "auto"
    retry_times: int = Field(3, ge=0)  # per request, for 5xx, timeouts, 429 and 频繁 pages
    backoff_max: float = Field(60.0, ge=0)  # seconds: the most a rate-limited site's delay grows to


class ElasticConfig(_Strict):
    """How to talk to Elasticsearch when ``store`` is an http(s) URL. Secrets come from env vars."""

    compat: Literal["elasticsearch", "opensearch"] = "elasticsearch"
    api_key_env: str = "YUQING_ES_API_KEY"
    username: str | None = None
    password_env: str = "YUQING_ES_PASSWORD"
    ca_file: str | None = None
    verify_certs: bool = True
    request_timeout: float = Field(30.0, gt=0)
    max_retries: int = Field(3, ge=0)
    chunk_size: int = Field(500, ge=1)
    chunk_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    dead_letter: str = "data/dead-letter.jsonl"
    templates: str = "elasticsearch"  # folder under config/ with the index template and ILM policy

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None

    def password(self) -> str | None:
        return os.environ.get(self.password_env) or None


class AlertRule(_Strict):
    """Spike rule for one scheme: negative posts per window against recent windows."""

    window: Duration = timedelta(days=1)
    # What a spike counts: distinct stories (200 copies of one post are one story, field report
    # B15) or every post.
    count: Literal["stories", "posts"] = "stories"
    baseline_windows: int = Field(7, ge=1)
    min_history: int = Field(3, ge=1, description="windows with data needed before alerting")
    # Seasonal baseline: compare with the same hour on the previous `baseline_windows` days
    # (for windows under a day; the same weekday for longer windows) instead of the last windows.
    seasonal: bool = False
    # Negative-share rule (off when null): the share of negative posts must rise this many
    # points (0.25 = 25 points) above the median share of the baseline windows, with at
    # least `share_min_total` posts in the window.
    share_jump: float | None = Field(None, gt=0, le=1)
    share_min_total: int = Field(20, ge=1)
    min_count: int = Field(5, ge=1)
    min_ratio: float = Field(2.0, ge=1)
    mad_k: float = Field(3.0, ge=0)
    poisson_z: float = Field(3.0, ge=0)
    cooldown: Duration = timedelta(days=1)
    # Severity: the highest level whose multiple of the threshold the count reaches.
    levels: dict[str, float] = {"一般": 1.0, "较大": 2.0, "重大": 4.0}
    # While a spike stays above the threshold after an alert: one "still elevated" reminder
    # per this interval (null: none). A higher level re-alerts at once (escalation).
    reminder_interval: Duration | None = timedelta(hours=6)

    @field_validator("window", "cooldown", "reminder_interval", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta | None:
        return None if v is None else parse_duration(v)

    @field_validator("levels")
    @classmethod
    def _increasing(cls, v: dict[str, float]) -> dict[str, float]:
        multiples = list(v.values())
        if not v or multiples[0] != 1.0 or multiples != sorted(set(multiples)):
            raise ValueError("levels must start at 1.0 and increase, e.g. {一般: 1, 较大: 2, 重大: 4}")
        return v


class Scheme(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: str
    any: list[str] = []
    all: list[str] = []
    none: list[str] = []
    recipients: list[str] = []
    level_recipients: dict[str, list[str]] = {}  # extra recipients per severity level
    # Instant alerts: one negative post that names a sensitive keyword and reaches this many
    # interactions (reposts + comments + likes) is an alert on its own, without waiting for a spike.
    sensitive: list[str] = []
    sensitive_min_reach: int = Field(0, ge=0)
    alert: AlertRule = AlertRule()
    enabled: bool = True

    @model_validator(mode="after")
    def _has_keywords(self) -> Scheme:
        if not self.any and not self.all:
            raise ValueError("a scheme needs at least one keyword in `any` or `all`")
        unknown = set(self.level_recipients) - set(self.alert.levels)
        if unknown:
            raise ValueError(f"level_recipients names unknown levels {sorted(unknown)}; "
                             f"levels are {list(self.alert.levels)}")
        return self


class Selectors(_Strict):
    """Per-site overrides for news pages: CSS, or XPath when prefixed with ``xpath:``.

    Each is checked at load, so a typo in a selector is a ConfigError, not an empty crawl.
    """

    links: str | None = None  # on list pages: the article links (<a> elements or their @href)
    next_page: str | None = None  # on list pages: the link to the next list page
    title: str | None = None
    body: str | None = None
    published: str | None = None
    author: str | None = None

    @field_validator("*")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from lxml import etree
        from parsel.csstranslator import HTMLTranslator

        try:
            if v.startswith("xpath:"):
                etree.XPath(v.removeprefix("xpath:"))
            else:
                HTMLTranslator().css_to_xpath(v)
        except Exception as exc:  # cssselect and lxml raise several unrelated types
            raise ValueError(f"{v!r} is not a valid {'XPath' if v.startswith('xpath:') else 'CSS selector'}: "
                             f"{exc}") from None
        return v


JSONL_FIELDS = ("text", "title", "url", "author", "published_at", "platform", "source", "id")


class Source(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    spider: Literal["rss", "news", "weibo", "tieba", "jsonl"]
    urls: list[str] = Field([], description="feed URLs (rss), list pages (news), API base URLs (weibo), "
                                            "forum list pages (tieba)")
    keywords: list[str] = []  # weibo search terms
    uids: list[str] = []  # weibo user timelines (numeric user ids)
    max_pages: int = Field(50, ge=1)
    incremental: bool = True  # weibo: stop paging at posts older than the newest seen last time
    overlap: Duration = timedelta(hours=1)  # …minus this much, to catch late-indexed posts
    platform: str | None = None
    tier: Tier | None = None  # official | mainstream | self_media | anonymous (default: by platform)
    download_delay: float | None = Field(None, ge=0)
    silence: Duration | None = timedelta(hours=12)  # no new posts for this long → operator alert
    cookie_env: str | None = None  # name of an environment variable holding the site's Cookie header
    every: Duration | None = None  # crawl interval under `yuqing serve` (default: schedule.crawl_every)
    selectors: Selectors | None = None  # news: per-site CSS/XPath overrides
    follow_articles: bool = True  # rss: fetch the article page when an item carries only a summary
    # jsonl (internal channels, `yuqing import --source NAME`): the export file and how to read it
    path: str | None = None
    mapping: dict[str, str] = {}  # our field → their field name or dotted path (user.name)
    time_format: str | None = None  # strptime format of their time field (default: any known form)
    time_zone: str | None = None  # zone of their naive times (default: the app's time zone)
    enabled: bool = True

    def cookie(self) -> str | None:
        """The validated cookie, or None; a cookie that cannot go into an HTTP header is a ConfigError."""
        if not self.cookie_env:
            return None
        value = os.environ.get(self.cookie_env, "").strip()
        if not value:
            raise ConfigError(f"source {self.name}: cookie_env {self.cookie_env} is not set or empty")
        problem = cookie_problem(value)
        if problem:
            raise ConfigError(f"source {self.name}: the cookie in ${self.cookie_env} {problem} (field report B25); "
                              "copy it again from the browser's request headers")
        return value

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not re.match(r"^https?://[^\s/]+", url) or any(ch.isspace() for ch in url):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return v

    @field_validator("overlap", "silence", "every", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta | None:
        return None if v is None else parse_duration(v)

    @field_validator("uids")
    @classmethod
    def _numeric_uids(cls, v: list[str]) -> list[str]:
        for uid in v:
            if not str(uid).isdigit():
                raise ValueError(f"{uid!r} is not a numeric Weibo user id (the number in weibo.com/u/<id>)")
        return [str(u) for u in v]

    @field_validator("mapping")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(JSONL_FIELDS))
        if unknown:
            raise ValueError(f"mapping names {unknown}, which are not our fields: {', '.join(JSONL_FIELDS)}")
        return v

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai") from exc
        return v

    @model_validator(mode="after")
    def _fits_its_spider(self) -> Source:
        if self.spider == "weibo" and not self.keywords and not self.uids:
            raise ValueError("a weibo source needs `keywords` to search for or `uids` of user timelines")
        if self.spider == "jsonl":
            if not self.path:
                raise ValueError("a jsonl source needs `path`, the export file to import")
        elif not self.urls:
            raise ValueError(f"a {self.spider} source needs `urls`")
        wrong = [k for k, spiders in _ONLY_FOR.items() if k in self.model_fields_set and self.spider not in spiders]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} do not apply to a {self.spider} source")
        return self


# Options that only mean something to some spiders: setting them elsewhere is a mistake.
_ONLY_FOR = {"keywords": ("weibo",), "uids": ("weibo",), "selectors": ("news",), "follow_articles": ("rss",),
             "path": ("jsonl",), "mapping": ("jsonl",), "time_format": ("jsonl",), "time_zone": ("jsonl",)}


class WebhookConfig(_Strict):
    """An IM group robot. The URL holds a token and the secret signs requests: both from env vars."""

    name: str
    kind: Literal["dingtalk", "wecom", "feishu"]
    url_env: str
    secret_env: str | None = None

    def url(self) -> str | None:
        return os.environ.get(self.url_env) or None

    def secret(self) -> str | None:
        return os.environ.get(self.secret_env) if self.secret_env else None


class BriefingConfig(_Strict):
    """The daily briefing (舆情日报): when it goes out (local time) and to whom, besides `recipients`."""

    enabled: bool = True
    time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    recipients: list[str] = []


class ScheduleConfig(_Strict):
    """What ``yuqing serve`` runs, and how often."""

    crawl_every: Duration = timedelta(minutes=30)
    check_every: Duration = timedelta(minutes=10)
    misfire_grace: Duration = timedelta(minutes=5)
    crawl_timeout: Duration = timedelta(minutes=25)

    @field_validator("crawl_every", "check_every", "misfire_grace", "crawl_timeout", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)


class StoriesConfig(_Strict):
    """Near-duplicate clustering into stories, and the flags shown on them (never acted on)."""

    similarity: float = Field(0.6, gt=0, le=1)  # Jaccard of character 3-grams between copies
    window: Duration = timedelta(days=14)  # copies further apart than this start a new story
    min_chars: int = Field(6, ge=1)  # shorter fingerprints ("转发微博") never join a story
    # A social-only story with this many posts within `fast_within` is flagged `unverified`.
    fast_posts: int = Field(10, ge=2)
    fast_within: Duration = timedelta(hours=6)
    debunk_terms: list[str] = list(DEBUNK_TERMS)
    # A debunking post from an official or mainstream source disputes the stories whose keywords
    # it shares at least this much (overlap of keyword sets; a copy of the rumour always links).
    debunk_overlap: float = Field(0.3, gt=0, le=1)

    @field_validator("window", "fast_within", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)


class CategoryRule(_Strict):
    name: str = Field(min_length=1)
    keywords: dict[str, float] = Field(min_length=1)  # keyword → weight (a title hit counts `title_weight` ×)


class CategoriesFile(_Strict):
    """The classification standard (config/categories.yaml): weighted keyword rules per category."""

    default: str = "其他"
    min_score: float = Field(1.0, gt=0)  # below this best score a post is `default`
    title_weight: float = Field(2.0, ge=1)
    categories: list[CategoryRule] = []


class AppConfig(_Strict):
    store: str = "sqlite:///data/yuqing.db"
    timezone: str = "Asia/Shanghai"
    model: ModelConfig = ModelConfig()
    smtp: SmtpConfig = SmtpConfig()
    recipients: list[str] = []
    operators: list[str] = []  # who hears about broken or silent sources (default: `recipients`)
    webhooks: list[WebhookConfig] = []
    briefing: BriefingConfig = BriefingConfig()
    outbox: str = "outbox"
    spool: str = "spool"  # analysed posts the store could not take wait here (replayed on the next run)
    kibana_url: str | None = None
    elasticsearch: ElasticConfig = ElasticConfig()
    sources_file: str = "sources.yaml"
    schemes_file: str = "schemes.yaml"
    categories_file: str | None = None  # the shipped yuqing.yaml names config/categories.yaml
    stories: StoriesConfig = StoriesConfig()
    userdict: str | None = "userdict.txt"
    crawl: CrawlConfig = CrawlConfig()
    schedule: ScheduleConfig = ScheduleConfig()

    @field_validator("store")
    @classmethod
    def _store_url(cls, v: str) -> str:
        if v.startswith("sqlite:") and v.removeprefix("sqlite:").strip("/") in ("", ":memory:"):
            raise ValueError(f"{v!r} names no database file; use e.g. sqlite:///data/yuqing.db")
        if not v.startswith(("sqlite:", "http://", "https://")):
            raise ValueError(f"{v!r} is not a store URL; use sqlite:///data/yuqing.db or http://host:9200")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai") from exc
        return v


class SourcesFile(_Strict):
    sources: list[Source] = []


class SchemesFile(_Strict):
    schemes: list[Scheme] = []


class Settings:
    """Everything loaded and validated: the app config, its sources and schemes."""

    def __init__(self, app: AppConfig, sources: list[Source], schemes: list[Scheme], path: Path,
                 categories: CategoriesFile | None = None) -> None:
        self.app = app
        self.sources = sources
        self.schemes = schemes
        self.path = path
        self.categories = categories or CategoriesFile()

    def tier(self, source: str | None, platform: str | None) -> Tier:
        """A source's tier: set in sources.yaml, else the platform's usual one, else self_media."""
        configured = next((s.tier for s in self.sources if s.name == source and s.tier), None)
        return configured or PLATFORM_TIERS.get(platform or "", "self_media")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.app.timezone)

    def resolve(self, name: str) -> Path:
        """A file named in yuqing.yaml, relative to the config folder."""
        p = Path(name)
        return p if p.is_absolute() else self.path.parent / p

    @property
    def userdict_path(self) -> Path | None:
        return self.resolve(self.app.userdict) if self.app.userdict else None

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"{self.resolve(self.app.sources_file)}: no source named {name!r}; "
                          f"known: {', '.join(s.name for s in self.sources) or '(none)'}")

    def scheme(self, scheme_id: str) -> Scheme:
        for s in self.schemes:
            if s.id == scheme_id:
                return s
        raise ConfigError(f"{self.resolve(self.app.schemes_file)}: no scheme {scheme_id!r}; "
                          f"known: {', '.join(s.id for s in self.schemes) or '(none)'}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with open_input(path, "the path of a YAML file", ConfigError, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    return data


def _describe(path: Path, exc: ValidationError, model: type[BaseModel], data: Any) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            valid = _valid_keys(model, err["loc"][:-1], data)
            close = difflib.get_close_matches(str(err["loc"][-1]), valid, n=1)
            msg = "unknown key" + (f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}")
        elif "input" in err and err["type"] != "missing":
            msg += f" (got {err['input']!r})"
        lines.append(f"{path}: {loc}: {msg}")
    return ConfigError("\n".join(lines))


def _valid_keys(model: type[BaseModel], loc: tuple, data: Any) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        current = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return sorted(current.model_fields) if current else []


def _validate(model: type[BaseModel], path: Path, data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _describe(path, exc, model, data) from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Load yuqing.yaml and the files it names; YUQING_STORE overrides the store URL."""
    path = Path(path) if path else DEFAULT_CONFIG
    data = _read_yaml(path)
    if os.environ.get(STORE_ENV):
        data["store"] = os.environ[STORE_ENV]
    app: AppConfig = _validate(AppConfig, path, data)
    settings = Settings(app, [], [], path)
    sources_path = settings.resolve(app.sources_file)
    schemes_path = settings.resolve(app.schemes_file)
    sources: SourcesFile = _validate(SourcesFile, sources_path, _read_yaml(sources_path))
    schemes: SchemesFile = _validate(SchemesFile, schemes_path, _read_yaml(schemes_path))
    _unique(sources_path, "sources", [s.name for s in sources.sources])
    _unique(schemes_path, "schemes", [s.id for s in schemes.schemes])
    settings.sources = sources.sources
    for source in settings.sources:  # a bad pasted cookie is caught at load, not mid-crawl (B25)
        if source.enabled and source.cookie_env and os.environ.get(source.cookie_env):
            source.cookie()
    settings.schemes = [s for s in schemes.schemes if s.enabled]
    if app.categories_file:
        categories_path = settings.resolve(app.categories_file)
        settings.categories = _validate(CategoriesFile, categories_path, _read_yaml(categories_path))
        _unique(categories_path, "categories", [c.name for c in settings.categories.categories])
    return settings


def _unique(path: Path, key: str, names: list[str]) -> None:
    seen = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(f"{path}: {key}.{i}: duplicate name {name!r}")
        seen.add(name)
