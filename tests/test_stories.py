"""Stories: near-duplicate clusters in the store, verification levels, rumour flags (issue 7, B15)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from alerts.briefing import briefing_data
from nlp.near_dup import MinHashLSH, fingerprint, is_near_duplicate
from nlp.segment import Segmenter
from pipeline.config import ElasticConfig, Settings, load_settings
from pipeline.ids import post_id
from pipeline.ingest import store_batch
from pipeline.store import Store
from pipeline.store.elastic import ElasticStore
from pipeline.store.sqlite import SQLiteStore
from pipeline.stories import (
    CONFIRMED,
    DISPUTED,
    SINGLE_SOURCE,
    SOCIAL_ONLY,
    UNVERIFIED,
    StoryBook,
    verification_of,
)
from tests.conftest import ROOT, write_config

SOURCES = """\
sources:
  - {name: gov-site, spider: rss, urls: ["http://127.0.0.1:1/a.xml"], platform: news, tier: official}
  - {name: paper-a, spider: rss, urls: ["http://127.0.0.1:1/b.xml"], platform: news}
  - {name: paper-b, spider: rss, urls: ["http://127.0.0.1:1/c.xml"], platform: news}
"""
SCHEMES = "schemes:\n  - {id: water, name: 供水, any: [排污, 停水, 自来水, 水厂]}\n"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(write_config(tmp_path_factory.mktemp("stories"), sources=SOURCES, schemes=SCHEMES))


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter(ROOT / "config/userdict.txt")


@pytest.fixture(params=["sqlite", "elastic"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Both stores: the story index lives in the store, so each must keep it."""
    if request.param == "sqlite":
        store: Store = SQLiteStore(tmp_path / "s.db")
    else:
        store = ElasticStore(request.getfixturevalue("osmem_url"),
                             ElasticConfig(compat="opensearch", dead_letter=str(tmp_path / "dead.jsonl")))
        store.setup()
    yield store
    store.close()


def post(settings: Settings, seg: Segmenter, pid: str, text: str, *, minutes: int = 0, source: str = "weibo-s",
         platform: str = "weibo", title: str | None = None, label: str = "negative", **extra) -> dict:
    tokens = seg.tokens(" ".join(filter(None, (title, text))))
    return {"id": pid, "platform": platform, "source": source, "title": title, "text": text,
            "published_at": (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "crawled_at": "2024-05-02T00:00:00Z", "engagement": {"reposts": 1}, "tokens": " ".join(tokens),
            "keywords": seg.keywords(tokens), "sentiment": {"label": label, "score": 0.9},
            "schemes": ["water"], "source_tier": settings.tier(source, platform), **extra}


def test_b15_three_copies_one_story() -> None:
    lsh = MinHashLSH()
    a, b, c, d = (lsh.signature(None, t) for t in (
        "某厂排污被曝光", "太过分了//@用户A:某厂排污被曝光", "某厂排污被曝光 http://t.cn/XXXX", "某厂回应排污传闻"))
    assert is_near_duplicate(a, b) and is_near_duplicate(a, c) and is_near_duplicate(b, c)
    assert not is_near_duplicate(a, d)
    assert fingerprint(None, "自來水廠排污！！[怒]@某人 https://t.cn/abc") == fingerprint(None, "自来水厂排污")


ARTICLE = ("5月1日上午，市水务集团北区水厂附近一处DN800供水主管发生爆管，造成周边三个街道约两万户居民停水。"
           "事发后抢修人员赶到现场关闭阀门，并调派送水车在小区门口定点供水。据现场居民反映，停水前没有收到任何通知，"
           "不少老人只能提着水桶排队接水。集团客服热线一度占线，有居民表示打了十几次电话都没有人接听。"
           "截至当天傍晚，管道仍在抢修中，预计次日凌晨恢复供水。")


def test_realistic_batch_clusters_copies_not_topics(settings: Settings, segmenter: Segmenter,
                                                   store: Store) -> None:
    p = lambda *a, **k: post(settings, segmenter, *a, **k)  # noqa: E731
    batch = [
        p("w1", "北区水厂附近爆管，我们小区停水一整天了，物业说不知道什么时候来水"),
        p("w2", "真的服了//@小区业主:北区水厂附近爆管，我们小区停水一整天了，物业说不知道什么时候来水", minutes=5),
        p("w3", "转发//@路人甲:同样情况//@小区业主:北区水厂附近爆管，我们小区停水一整天了，物业说不知道什么时候来水",
          minutes=9),
        p("n1", ARTICLE, title="北区水厂附近供水主管爆管 两万户停水", source="paper-a", platform="news", minutes=30),
        p("n2", "来源：某某晚报 责任编辑：王五 " + ARTICLE + " 【版权声明】转载请注明出处。",
          title="北区水厂附近供水主管爆管 两万户停水", source="paper-b", platform="news", minutes=50),
        # same topic, different posts: must stay apart
        p("o1", "停水第二天，送水车只来了一次，老人根本抢不到水，客服电话永远打不通", minutes=60),
        p("o2", "自来水发黄有异味，烧开了也有一股铁锈味，这水还能喝吗", minutes=70),
        p("o3", "北区停水的原因是爆管，听说要到明天凌晨才能恢复，大家提前储水", minutes=80),
    ]
    store_batch(batch, store, StoryBook(settings, store))
    clusters = {p["id"]: p["cluster"] for p in store.find_posts()}
    assert clusters["w1"] == clusters["w2"] == clusters["w3"] == "w1"
    assert clusters["n1"] == clusters["n2"] == "n1"
    assert len({clusters[i] for i in ("w1", "n1", "o1", "o2", "o3")}) == 5
    assert {p["id"]: p["dup_of"] for p in store.find_posts()}["w3"] == "w1"
    story = store.find_stories(clusters=["n1"])[0]
    assert story["size"] == 2 and story["sources"] == ["paper-a", "paper-b"]
    assert story["verification"] == CONFIRMED  # two independent mainstream sources
    assert story["title"] == "北区水厂附近供水主管爆管 两万户停水"
    weibo = store.find_stories(clusters=["w1"])[0]
    assert (weibo["size"], weibo["copies"], weibo["verification"]) == (3, 2, SOCIAL_ONLY)
    assert weibo["first_post_id"] == "w1" and weibo["reach"] == 3
    # alerts count stories: 8 negative posts are 5 stories that day
    day = datetime(2024, 5, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    counts = dict(tz=ZoneInfo("Asia/Shanghai"), start=day, end=day + timedelta(days=1), window=timedelta(days=1),
                  scheme="water", label="negative")
    assert store.window_counts(**counts) == {day: 8}
    assert store.window_counts(**counts, stories=True) == {day: 5}


def test_stories_persist_across_runs(settings: Settings, segmenter: Segmenter, tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "s.db")
    store_batch([post(settings, segmenter, "a", "市政府回应自来水厂排污问题：已责令停产整改并立案调查")],
                first, StoryBook(settings, first))
    first.close()
    again = SQLiteStore(tmp_path / "s.db")  # a new process: nothing kept in memory
    book = StoryBook(settings, again)
    words = "市政府回应自来水厂排污问题：已责令停产整改并立案调查"
    copy = post(settings, segmenter, "b", f"{words} http://t.cn/A6x", minutes=600)
    store_batch([copy], again, book)
    recrawl = post(settings, segmenter, "a", "市政府回应自来水厂排污问题：已责令停产整改并立案调查", label="neutral")
    store_batch([recrawl], again, book)  # a re-crawl keeps its story
    by_id = {p["id"]: p for p in again.find_posts()}
    assert by_id["b"]["cluster"] == by_id["a"]["cluster"] == "a"
    assert again.find_stories(clusters=["a"])[0]["size"] == 2
    later = post(settings, segmenter, "c", "市政府回应自来水厂排污问题：已责令停产整改并立案调查", minutes=60 * 24 * 30)
    store_batch([later], again, book)  # a month later the same words start a new story
    assert {p["id"]: p["cluster"] for p in again.find_posts()}["c"] == "c"


def test_repost_of_joins_the_original(settings: Settings, segmenter: Segmenter, store: Store) -> None:
    book = StoryBook(settings, store)
    original = post(settings, segmenter, post_id("weibo", "1", None), "水厂周边居民反映夜间噪音扰民严重",
                    platform_id="1")
    store_batch([original], store, book)
    repost = post(settings, segmenter, "weibo-2", "转发微博", repost_of="1", platform_id="2")
    store_batch([repost], store, book)
    assert store.cluster_assignments(["weibo-2"])["weibo-2"] == (original["id"], original["id"])


@pytest.mark.parametrize("tiers, level", [
    (["official"], CONFIRMED),
    (["mainstream", "mainstream"], CONFIRMED),
    (["mainstream", "self_media", "anonymous"], SINGLE_SOURCE),
    (["self_media", "anonymous", "self_media"], SOCIAL_ONLY),
])
def test_verification_levels(tiers: list[str], level: str) -> None:
    members = [{"source": f"s{i}", "source_tier": t} for i, t in enumerate(tiers)]
    assert verification_of(members)[0] == level
    same_paper_twice = [{"source": "paper", "source_tier": "mainstream"}] * 2
    assert verification_of(same_paper_twice)[0] == SINGLE_SOURCE  # copies of one outlet are not independent


def test_fast_social_story_unverified_then_debunk_disputes(settings: Settings, segmenter: Segmenter,
                                                          store: Store) -> None:
    book = StoryBook(settings, store)
    rumour = "网传北区水厂水源被污染，自来水不能喝了，大家赶紧去超市抢购桶装水"
    copies = [post(settings, segmenter, f"r{i}", f"{rumour}{'！' * i}", minutes=i * 20, source=f"user{i}")
              for i in range(10)]
    store_batch(copies, store, book)
    [story] = store.find_stories(clusters=["r0"])
    assert story["rumour"] == UNVERIFIED and "6 小时内 10 条" in story["rumour_reason"]
    assert {p["rumour"] for p in store.find_posts()} == {UNVERIFIED}
    debunk = post(settings, segmenter, "g1",
                  "经核实，北区水厂水源未受污染，自来水水质检测合格，网传消息不实，请勿抢购桶装水。",
                  title="关于网传北区水厂水源污染的辟谣", source="gov-site", platform="news", minutes=300,
                  label="neutral")
    store_batch([debunk], store, book)
    [story] = store.find_stories(clusters=["r0"])
    assert story["rumour"] == DISPUTED and story["debunked_by"] == ["g1"]
    assert story["rumour_reason"].startswith("gov-site（official）发布辟谣")
    assert {p["rumour"] for p in store.find_posts() if p["cluster"] == "r0"} == {DISPUTED}
    store_batch([post(settings, segmenter, "r10", rumour + "？", minutes=320, source="user10")], store, book)
    assert store.find_stories(clusters=["r0"])[0]["rumour"] == DISPUTED  # a later copy keeps the flag
    debunk_story = store.find_stories(clusters=["g1"])[0]
    assert debunk_story["verification"] == CONFIRMED and debunk_story["rumour"] is None
    flagged = briefing_data(settings, store, date(2024, 5, 1))["flagged"]
    assert [(f["rumour"], f["text"][:8]) for f in flagged] == [("存在辟谣", "网传北区水厂水源")]


ALERT_SCHEMES = """\
schemes:
  - id: water
    name: 供水服务
    any: [停水, 排污]
    alert: {window: 1d, baseline_windows: 5, min_history: 3, min_count: 5, cooldown: 2d}
"""


def test_b15_two_hundred_copies_are_one_story_in_the_alert(tmp_path: Path, segmenter: Segmenter, smtp_sink) -> None:
    from alerts.checker import AlertChecker
    from alerts.notify import Notifier

    settings = load_settings(write_config(tmp_path, sources=SOURCES, schemes=ALERT_SCHEMES, smtp_port=smtp_sink.port))
    store = SQLiteStore(tmp_path / "y.db")
    book = StoryBook(settings, store)
    complaints = ["小区停水三天了没人管", "停水也不提前通知一声", "又停水了，到底什么时候来水",
                  "停水这么久物业一问三不知", "为什么我们这片总是停水", "停水通知贴在哪里了根本没看到",
                  "停水导致店铺没法营业"]

    def day_posts(d: int, texts: list[str]) -> list[dict]:
        return [post(settings, segmenter, f"d{d}-{i}", t, minutes=d * 1440 + i) for i, t in enumerate(texts)]

    for d in range(5):  # baseline: 2 distinct complaints a day
        store_batch(day_posts(d, complaints[d:d + 2]), store, book)
    viral = "某厂排污被曝光，河里的鱼都死光了，自来水厂取水口就在下游"
    copies = [f"{viral}" if i == 0 else f"转发{i}//@用户{i}:{viral}" for i in range(200)]
    store_batch(day_posts(5, copies + complaints[:2]), store, book)
    checker = AlertChecker(settings, store, Notifier(settings))
    now = datetime(2024, 5, 6, 23, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert [r.outcome for r in checker.check(now)] == ["calm"]  # 3 stories vs 2: no spike
    assert smtp_sink.messages == []

    scheme = settings.schemes[0]  # counting every copy would have cried wolf
    settings.schemes[0] = scheme.model_copy(update={"alert": scheme.alert.model_copy(update={"count": "posts"})})
    assert [r.outcome for r in AlertChecker(settings, store, Notifier(settings)).check(now)] == ["fired"]
    [msg] = smtp_sink.messages
    body = msg.get_body(("plain",)).get_content()
    assert "重点负面事件" in body and "199 转载" in body and "仅社交媒体" in body
    store.close()


def test_stories_and_categories_in_pandas(settings: Settings, segmenter: Segmenter, store: Store) -> None:
    from pipeline.frame import load_posts, load_stories, top_terms

    book = StoryBook(settings, store)
    rumour = "网传北区水厂水源被污染，自来水不能喝了，大家赶紧去超市抢购桶装水"
    posts = [post(settings, segmenter, f"r{i}", f"{rumour}{'！' * i}", minutes=i * 20, source=f"user{i}",
                  category="环境") for i in range(10)]
    posts.append(post(settings, segmenter, "x", "营业厅排队两小时，客服态度差", minutes=30, category="服务质量"))
    store_batch(posts, store, book)
    stories = load_stories(store, since="2024-05-01", until="2024-05-01")
    assert list(stories["cluster"]) == ["r0", "x"] and list(stories["size"]) == [10, 1]
    assert stories["negative"].dtype == "int64" and str(stories["first_published_at"].dt.tz) == "Asia/Shanghai"
    assert stories.loc[0, "rumour"] == UNVERIFIED and stories.loc[0, "verification"] == SOCIAL_ONLY
    assert list(load_stories(store, rumour=UNVERIFIED)["cluster"]) == ["r0"]
    df = load_posts(store, category="服务质量")
    assert list(df["id"]) == ["x"] and isinstance(df["category"].dtype, pd.CategoricalDtype)
    assert set(load_posts(store, verification=SOCIAL_ONLY)["id"]) == {p["id"] for p in posts}
    assert load_posts(store).groupby("cluster").size().to_dict() == {"r0": 10, "x": 1}
    assert top_terms(store, field="category").values.tolist() == [["环境", 10], ["服务质量", 1]]


def test_stories_command_says_when_the_limit_cut_the_list(settings: Settings, segmenter: Segmenter,
                                                          tmp_path: Path, monkeypatch, capsys) -> None:
    from pipeline.cli import main

    store = SQLiteStore(tmp_path / "cli.db")
    texts = ["北区停水一整天，物业不管", "自来水发黄有异味，还能喝吗", "水厂排污，河里死鱼一片"]
    store_batch([post(settings, segmenter, f"c{i}", t, minutes=i) for i, t in enumerate(texts)], store,
                StoryBook(settings, store))
    store.close()
    monkeypatch.setenv("YUQING_STORE", f"sqlite:///{tmp_path / 'cli.db'}")
    config = str(ROOT / "config/yuqing.yaml")
    assert main(["--config", config, "stories", "--since", "2024-05-01", "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "2 story(ies) shown, the first 2 by --order reach; raise --limit for more")
    assert main(["--config", config, "stories", "--since", "2024-05-01"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 story(ies)"


def test_a_repost_headline_is_what_was_reposted() -> None:
    from pipeline.stories import _headline

    assert _headline({"text": "转发//@路人甲:同样情况//@小区业主:北区爆管，停水一整天了"}) == "北区爆管，停水一整天了"
    assert _headline({"text": "说得对//@用户A:"}) == "说得对//@用户A:"  # nothing after the chain: keep it
    assert _headline({"title": "标题", "text": "x//@a:y"}) == "标题"
