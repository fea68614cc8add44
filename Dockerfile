# Airflow image for the docker-compose deployment: the official image plus Java (for PyFlink), this project's
# pins, and its two Airflow distributions (plugins/) built as wheels. AIRFLOW_IMAGE names another base with the
# official image's contract (the stand-in of `make standin-images`).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE} AS wheels
COPY --chown=airflow plugins/flink-sql /src/flink-sql
COPY --chown=airflow plugins/report-kit /src/report-kit
RUN pip wheel --no-deps --wheel-dir /tmp/wheels /src/flink-sql /src/report-kit

FROM ${AIRFLOW_IMAGE}
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64

USER airflow
COPY requirements.txt constraints.txt /tmp/
# The pins first, in a layer of their own: a change to the distributions rebuilds only the layer below (seconds),
# not the download and install of every pinned package (minutes).
RUN pip install --no-cache-dir -r /tmp/requirements.txt -c /tmp/constraints.txt
COPY --from=wheels /tmp/wheels /tmp/wheels
RUN pip install --no-cache-dir -c /tmp/constraints.txt /tmp/wheels/*.whl
