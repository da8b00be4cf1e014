"""Scrapy settings for yuqing (``scrapy crawl NAME`` from the repo root uses these).

Values that depend on the deployment (user agent, delays, concurrency, memory limit)
come from ``config/yuqing.yaml`` through ``SourceSpider.update_settings``.
"""

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

YUQING_CONFIG = "config/yuqing.yaml"

ROBOTSTXT_OBEY = True
USER_AGENT = "yuqing/0.1 (public-opinion monitor)"
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_TIMEOUT = 30
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]  # 429: RateLimitBackoff retries it, slower
MEMUSAGE_ENABLED = True
MEMUSAGE_LIMIT_MB = 4096
MEMUSAGE_WARNING_MB = 3072
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawlers.extensions.SourceAwareAutoThrottle": 0,
}

DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.RateLimitBackoff": 560,  # before RetryMiddleware (550) sees the response
}

ITEM_PIPELINES = {
    "crawlers.pipelines.ProcessorPipeline": 300,
}
