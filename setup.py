"""The ``yuqing`` distribution: a self-hosted public-opinion monitoring system."""

from setuptools import find_namespace_packages, setup

setup(
    name="yuqing",
    version="0.1.0",
    description="Self-hosted public-opinion (舆情) monitoring: crawl, analyse, store, alert",
    python_requires=">=3.11",
    packages=find_namespace_packages(include=["crawlers*", "nlp*", "pipeline*", "alerts*"]),
    include_package_data=True,
    package_data={"": ["*.j2", "*.jsonl", "*.md", "*.json", "*.safetensors", "*.ttf", "OFL.txt"]},
    install_requires=[
        "torch==2.13.0",
        "transformers==5.25.0",
        "tokenizers>=0.22,<1",
        "safetensors>=0.4",
        "scrapy==2.19.0",
        "feedparser==6.0.14",
        "trafilatura==2.3.1",
        "jieba==0.42.1",
        "datasketch==2.0.0",  # MinHash for near-duplicate stories
        "opencc-python-reimplemented==0.1.7",  # traditional → simplified table (stories compare both)
        "pydantic>=2.10,<3",
        "PyYAML>=6",
        "jinja2>=3.1",
        "matplotlib>=3.8",
        "lxml>=5",
        "elasticsearch==8.19.3",
        "APScheduler>=3.10,<4",
        "SQLAlchemy>=2,<3",
        # the analyst's desk: DataFrames, exports, PDF reports, progress bars
        "pandas==3.1.1",
        "openpyxl==3.1.5",
        "reportlab==5.1.0",
        "tqdm==4.70.1",
    ],
    extras_require={
        "dev": ["pytest>=8", "aiosmtpd>=1.4", "ruff>=0.8", "osmem-server==0.1.6",
                # report checks (render, fonts, text) and notebook execution
                "pypdf==7.1.0", "pypdfium2==5.15.2", "nbclient==0.11.0", "nbformat==5.11.1", "ipykernel==7.4.0"],
        # bench/bench_sentiment.py's baseline
        "bench": ["snownlp==0.12.3"],
    },
    entry_points={"console_scripts": ["yuqing=pipeline.cli:main"]},
)
