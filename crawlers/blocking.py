"""Pages that are not what they claim (field report B3): captcha, login walls, rate limits.

Sites answer a blocked crawler with HTTP 200 as often as with 403: a 百度安全验证 page, a
login form, a "访问过于频繁" notice, or a redirect to a captcha host. Read as ordinary
pages they parse to zero items and look like a quiet day. These tables and one pure
function tell them apart; the spiders turn the answer into a typed source error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

# Words in <title> that only verification pages use.
_CAPTCHA_TITLES = ("安全验证", "验证码", "人机验证", "访问验证", "滑动验证", "captcha", "security check",
                   "are you a robot", "just a moment")
# Pages that stand for a login wall whatever their length (Weibo's visitor check, as in crawlers.weibo).
_LOGIN_WALLS = ("sina visitor system", "新浪通行证", "请先登录")
# Hosts and paths blocked crawlers get redirected to (Tieba → wappass.baidu.com, Weibo → passport…).
_BLOCK_URL = re.compile(r"wappass\.baidu\.com|passport\.|/captcha|/verify|/sorry/|seccaptcha|/login|/signin",
                        re.IGNORECASE)
_LOGIN_TITLES = ("登录", "登陆", "login", "sign in")
# "访问过于频繁" / "请求太频繁，请稍后再试" (not a story saying 游客访问频繁).
_RATE_LIMITED = re.compile(r"(?:访问|请求|操作|刷新|搜索)(?:过于|太过|太)频繁|频繁.{0,12}(?:稍后|休息一下)"
                           r"|too many requests|rate limit exceeded", re.IGNORECASE)
# A genuine "nothing found" answer: zero items, and nothing is wrong (B3 fixture 3).
_NO_RESULTS = ("抱歉，未找到相关结果", "抱歉，没有找到", "未找到相关", "没有找到相关", "暂无相关", "暂无内容",
               "暂无数据", "没有更多内容", "这里还没有内容")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SMALL_PAGE = 8_000  # characters: rate-limit notices are short; an article may say 频繁 in passing


def page_title(text: str) -> str:
    m = _TITLE.search(text[:20_000])
    return " ".join(m.group(1).split()) if m else ""


def page_problem(url: str, text: str, redirect_urls: Sequence[str] = ()) -> tuple[str, str] | None:
    """(kind, why) when a page is a verification, login or rate-limit page; None for a real page."""
    hops = (*redirect_urls[1:], url) if redirect_urls else ()  # where we were sent, not what we asked for
    for hop in hops:
        if _BLOCK_URL.search(urlsplit(hop).netloc + urlsplit(hop).path):
            return "BLOCKED", f"redirected to {hop}"
    title = page_title(text)
    low = title.lower()
    if any(marker in low for marker in _CAPTCHA_TITLES):
        return "BLOCKED", f"verification page (title {title!r})"
    if any(marker in low for marker in _LOGIN_WALLS):
        return "LOGIN_REQUIRED", f"login page (title {title!r})"
    if any(marker in low for marker in _LOGIN_TITLES) and (
            len(title) <= 12 or re.search(r"type=[\"']?password", text[:50_000], re.IGNORECASE)):
        return "LOGIN_REQUIRED", f"login page (title {title!r})"
    if len(text) < _SMALL_PAGE:
        m = _RATE_LIMITED.search(text)
        if m:
            return "RATE_LIMITED", f"rate-limit notice {m.group(0)!r}"
    return None


def says_no_results(text: str) -> bool:
    """The page says it found nothing: an empty result, not a broken parser."""
    return any(marker in text for marker in _NO_RESULTS)


def is_rate_limit_notice(text: str) -> bool:
    return len(text) < _SMALL_PAGE and bool(_RATE_LIMITED.search(text))
