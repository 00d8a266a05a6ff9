# The image every process of atac2expr runs in under -profile docker / podman / singularity
# (params.container, default atac2expr:0.1.0):
#   docker build -t atac2expr:0.1.0 .          (or podman build; needs Docker Hub and PyPI)
# Python 3.11 on Debian 12 (bookworm), Debian's kallisto 0.48.0 (the version CI uses), procps and the
# pinned requirements.txt (constraints.txt fixes every transitive version; the test tools of
# requirements-dev.txt are not in the image). bin/ is not copied: Nextflow mounts the pipeline's bin/
# into each task and puts it on PATH.
# torch from PyPI brings its CUDA libraries, so the same image serves -profile gpu.
#
# Offline builds (no registry, no package index: setup/container/build.sh does this):
#   - BASE_IMAGE: any Debian bookworm image with python3 and its venv module, e.g. one made with
#     debootstrap --include=python3,python3-venv,ca-certificates and imported;
#   - wheelhouse/: when the build context has one, the wheels are installed from it and PyPI is not
#     contacted: pip download --only-binary=:all: -d wheelhouse -r requirements.txt -c constraints.txt
#     (with the image's Python version: 3.11).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# The wheels are installed in a stage of their own, so that neither they nor pip's downloads are a layer
# of the image: only the finished virtualenv is copied on.
FROM ${BASE_IMAGE} AS python-packages
COPY . /tmp/build/
RUN python3 -m venv /opt/venv \
    && if ls /tmp/build/wheelhouse/*.whl >/dev/null 2>&1; then \
           from="--no-index --find-links /tmp/build/wheelhouse"; \
       else \
           from=""; \
       fi \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check $from \
           -r /tmp/build/requirements.txt -c /tmp/build/constraints.txt \
    && rm -rf /tmp/build

FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="atac2expr" \
      org.opencontainers.image.description="Predict gene expression from ATAC-seq peaks: kallisto + Python tools of the pipeline" \
      org.opencontainers.image.version="0.1.0"

# procps: Nextflow's task wrapper reads resource usage with ps
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kallisto procps \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log

COPY --from=python-packages /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONNOUSERSITE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib

CMD ["bash"]
