"""One spider a file; each parses one family of sources configured in sources.yaml."""
