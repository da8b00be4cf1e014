"""The yuqing processing pipeline: configuration, Processor, stores and the CLI."""
