"""The demo: a local replay site with real posts, crawled, analysed, stored and checked."""
