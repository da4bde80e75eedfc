# LeadGraph API image. Configure at run time (see README "Configuration"); no secrets here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system leadgraph \
 && useradd --system --gid leadgraph --home-dir /app --shell /usr/sbin/nologin leadgraph

WORKDIR /app

# pyproject.toml names README.md as the package readme, so it is part of the build.
COPY pyproject.toml README.md ./
COPY leadgraph ./leadgraph
RUN pip install . \
 && mkdir -p /app/.leadgraph \
 && chown -R leadgraph:leadgraph /app

USER leadgraph

EXPOSE 8000

CMD ["leadgraph", "serve", "--host", "0.0.0.0", "--port", "8000"]
