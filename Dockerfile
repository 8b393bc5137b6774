# The whole MedFusion project: every plugin, the Rust accelerator built from source, the
# `medfusion` command. Build from the repository root:
#   docker build -t medfusion .
#   docker build --build-arg VARIANT=cuda -t medfusion:cuda .   # CUDA runtime base image for GPU training
#   docker run --rm -v "$PWD/work:/home/medfusion/work" medfusion quickstart
# The prediction server alone has its own image: plugins/medfusion-plugin-serve/Dockerfile.
ARG VARIANT=cpu
ARG BUILD_IMAGE=python:3.11-slim-bookworm
ARG CPU_IMAGE=debian:bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

FROM ${BUILD_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_PROJECT_ENVIRONMENT=/opt/medfusion
# cargo and a C toolchain build medfusion-plugin-native (maturin); Debian's packages are used as
# the release ships them, so their versions are not pinned here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cargo rustc build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir "uv==${UV_VERSION}" && uv python install 3.11
WORKDIR /src
COPY . .
RUN uv sync --locked --no-dev --no-editable --all-packages

# The runtime: VARIANT=cpu (Debian slim) or VARIANT=cuda (NVIDIA's CUDA runtime base image).
FROM ${CPU_IMAGE} AS base-cpu
FROM ${CUDA_IMAGE} AS base-cuda
# base-cpu and base-cuda are stages of this file (their images are tagged above):
# hadolint ignore=DL3006
FROM base-${VARIANT} AS runtime
RUN useradd --create-home --uid 10001 medfusion
COPY --from=build /opt/python /opt/python
COPY --from=build /opt/medfusion /opt/medfusion
ENV PATH=/opt/medfusion/bin:$PATH PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /home/medfusion/work
ENTRYPOINT ["medfusion"]
CMD ["--help"]
