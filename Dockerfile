# aggregator in a container: the package installed from its wheel on a slim Python
# image, run as an unprivileged user, with everything it keeps (config, database,
# published files) in the volume /data. The default command is the built-in
# scheduler; `serve` publishes /data/public on port 8000. See compose.yaml and the
# README's "Container" section.
#
# BASE_IMAGE swaps the Python image both stages start from (any Debian-like image
# with `python` and `pip` on PATH), e.g. one built from the Debian mirror by
# scripts/container-smoke where Docker Hub cannot be reached.

ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2.post1
COPY . .
RUN python -m build --wheel --outdir /dist

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGGREGATOR_CONFIG=/data/aggregator.toml
RUN groupadd --system --gid 10001 aggregator \
    && useradd --system --uid 10001 --gid aggregator --home-dir /data --create-home \
       --shell /usr/sbin/nologin aggregator
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/*.whl && rm -rf /tmp/dist
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["aggregator"]
CMD ["schedule"]
