# yuqing service image: `yuqing serve` against Elasticsearch (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# A CPU-only torch wheel keeps the image small; point TORCH_INDEX at a CPU wheel index if you have one.
ARG TORCH_INDEX=""
COPY setup.py README.md scrapy.cfg ./
COPY crawlers crawlers
COPY nlp nlp
COPY pipeline pipeline
COPY alerts alerts
COPY config config
RUN if [ -n "$TORCH_INDEX" ]; then pip install --index-url "$TORCH_INDEX" torch==2.13.0; fi \
    && pip install -e .
CMD ["yuqing", "serve"]
