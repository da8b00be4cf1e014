"""The yuqing Scrapy project: spiders, items, settings and the item pipeline adapter."""
