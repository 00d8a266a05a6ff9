# The image every process of atac2expr runs in under -profile docker / singularity
# (params.container, default atac2expr:0.1.0):
#   docker build -t atac2expr:0.1.0 .
# Python 3.11 on Debian 12 (bookworm), Debian's kallisto 0.48.0 (the version CI uses) and the pinned
# requirements.txt. bin/ is not copied: Nextflow mounts the pipeline's bin/ into each task and puts it on PATH.
# torch from PyPI brings its CUDA libraries, so the same image serves -profile gpu (docker --gpus all, singularity --nv).
FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="atac2expr" \
      org.opencontainers.image.description="Predict gene expression from ATAC-seq peaks: kallisto + Python tools of the pipeline" \
      org.opencontainers.image.version="0.1.0"

# procps: Nextflow's task wrapper reads resource usage with ps
RUN apt-get update \
    && apt-get install -y --no-install-recommends kallisto procps \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

ENV PYTHONNOUSERSITE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib

CMD ["bash"]
