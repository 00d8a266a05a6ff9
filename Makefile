# atac2expr: the two commands a user needs are `make demo` and `make test`.
# Each installs what it needs first (setup/setup.sh: Nextflow, kallisto, a Python virtualenv).
SHELL := /bin/bash
WITH_ENV := bash setup/with-env.sh
OUTDIR ?= results
PYTEST_ARGS ?=

.PHONY: help setup test-data demo lint docs test test-unit test-e2e test-slurm test-container bench clean chromium

help:
	@echo "make demo       run the whole pipeline on the bundled test dataset (results in $(OUTDIR)/)"
	@echo "make test       lint, then the test suite: unit tests, the stub graph, the end-to-end nextflow runs"
	@echo "make test-unit  unit tests only (seconds)"
	@echo "make lint       ruff on bin/, tests/ and benchmarks/"
	@echo "make docs       rewrite docs/usage.md's parameter reference and samplesheet table from the schemas"
	@echo "make test-slurm the pipeline through a one-node Slurm cluster on this machine (root; installs slurm-wlm, munge)"
	@echo "make test-container the pipeline in the Dockerfile's image with podman and Docker Engine (root; installs both, builds the image)"
	@echo "make bench      benchmarks (print figures; not tests)"
	@echo "make bench-links-real where each model's links fall on the real data (../shared/data/heme_hg19; not a test)"
	@echo "make bench-links-planted every model's links against the planted truth, with the shuffled-label control"
	@echo "make bench-real-cv every model on every chromosome of the real data, random and leave-lineage-out folds (../shared/data/heme_hg19; not a test)"
	@echo "make bench-crispr the links' score on CRISPRi-tested pairs: a heme genome run, -entry PREDICT on K562 (../shared/data; long; not a test)"
	@echo "make bench-scale the pipeline on generated real-size inputs (SCALE_DIR=$(SCALE_DIR), SCALE=$(SCALE); long; not a test)"
	@echo "make bench-real the pipeline on the real heme_hg19 data, whole chromosomes (BENCH_REAL_CHROMS=$(BENCH_REAL_CHROMS); long; not a test)"
	@echo "make setup      install Nextflow, kallisto and the Python packages only"

setup:
	@$(WITH_ENV) true

test_data/samplesheet.csv: tests/make_test_data.py
	$(WITH_ENV) python tests/make_test_data.py --outdir test_data

test-data: test_data/samplesheet.csv

demo: test-data
	$(WITH_ENV) nextflow run main.nf -profile test --outdir $(OUTDIR)

lint:
	$(WITH_ENV) ruff check bin tests benchmarks

# docs/usage.md's generated sections (between its <!-- parameters:start/end --> and <!-- samplesheet:start/end -->
# markers), from nextflow_schema.json, assets/schema_input.json and the model names of the registry;
# tests/test_docs.py fails when they are stale
docs:
	$(WITH_ENV) python -m atac2expr.schema_docs --schema nextflow_schema.json \
	    --samplesheet_schema assets/schema_input.json --registry bin/atac2expr/model_registry.json --update docs/usage.md

# the layers side by side (tests/run_layers.sh): the end-to-end tests that share runs in one session, the unit tests
# and then the ENCODE runs beside it; every layer runs to its end, and any failure fails the target. The report pages
# are checked in headless Chromium, which setup/chromium.sh installs (Debian's package) when missing and root, while
# the tests start (else the browser checks skip)
test: lint
	$(WITH_ENV) bash tests/run_layers.sh $(PYTEST_ARGS)

chromium:
	@bash setup/chromium.sh >/dev/null || echo "no headless Chromium here: the browser checks of the reports will skip, saying why"

test-unit:
	$(WITH_ENV) python -m pytest tests -m "not e2e and not slurm and not container" $(PYTEST_ARGS)

test-e2e: chromium
	$(WITH_ENV) python -m pytest tests -m "e2e and not slurm and not container" $(PYTEST_ARGS)

# setup/slurm/start.sh (run by the test) installs Debian's slurm-wlm and munge when missing and root
test-slurm:
	bash setup/slurm/install.sh
	$(WITH_ENV) python -m pytest tests -m slurm $(PYTEST_ARGS)

# The engines, their progress shown here (cached, so the tests' own calls take a second): setup/container/build.sh
# installs podman, runc and debootstrap when missing and builds the image offline; setup/container/docker.sh installs
# docker.io, starts dockerd and loads the same image into Docker. Exit status 77 (not root, or no apt-get for a
# missing tool): the tests skip and say why. Any other failure stops here.
test-container:
	@if [ "$$(id -u)" = 0 ]; then \
	    for script in build.sh docker.sh; do \
	        $(WITH_ENV) bash setup/container/$$script >/dev/null || [ $$? = 77 ] || exit 1; \
	    done; \
	fi
	$(WITH_ENV) python -m pytest tests -m container $(PYTEST_ARGS)

bench:
	$(WITH_ENV) python benchmarks/bench_binarize.py
	$(WITH_ENV) python benchmarks/bench_tss_window.py --quick
	$(WITH_ENV) python benchmarks/bench_mlp_scaling.py --quick
	$(WITH_ENV) python benchmarks/bench_gene_activity.py --quick
	$(WITH_ENV) python benchmarks/bench_references.py --quick
	$(WITH_ENV) python benchmarks/bench_fastq_check.py --quick

# Where each model's links fall relative to the TSSs on the real development data (chr19 of ../shared/data/heme_hg19 by
# default; BENCH_LINKS_ARGS="--chroms chr17,chr19 --models ridge" for others)
BENCH_LINKS_ARGS ?=
.PHONY: bench-links-real bench-links-planted bench-real-cv
bench-real-cv:
	$(WITH_ENV) python benchmarks/bench_real_cv.py $(BENCH_REAL_CV_ARGS)

bench-links-real:
	$(WITH_ENV) python benchmarks/bench_links_real.py $(BENCH_LINKS_ARGS)

# Every model's links against the test data's planted regulatory bins, with the shuffled-label control (minutes)
bench-links-planted:
	$(WITH_ENV) python benchmarks/bench_links_planted.py $(BENCH_LINKS_ARGS)

# The links' score on experimental truth: CRISPRi-tested element-gene pairs in K562 (../shared/data/crispr_k562). A default
# genome run on ../shared/data/heme_hg19 (the models a genome run saves), then -entry PREDICT with K562's DNase peaks and each
# saved model (--links_top 0 --links_heldout_chromosomes), each run's links scored beside distance and an ABC-style score
# (benchmarks/bench_crispr.py; report in $(BENCH_CRISPR_DIR)/report.md). BENCH_CRISPR_ARGS goes to the script (e.g.
# "--models tss_window"). benchmarks/fit_link_combiner.py refits assets/link_combiner.json (seconds).
BENCH_CRISPR_DIR ?= $(or $(ATAC2EXPR_HOME),$(HOME)/.cache/atac2expr)/bench-crispr
BENCH_CRISPR_ARGS ?=
.PHONY: bench-crispr
bench-crispr:
	$(WITH_ENV) python benchmarks/bench_crispr.py --nextflow --workdir $(BENCH_CRISPR_DIR) $(BENCH_CRISPR_ARGS)

# Real-size inputs (benchmarks/make_scale_data.py; reused while the parameters are the same), then the
# pipeline with a trace and the micro-benchmarks (benchmarks/bench_scale.py), each scale in its own folders;
# the report goes to $(SCALE_DIR)/report-x$(SCALE).md. SCALE multiplies genes, peaks and reads (SCALE=0.05 for a quick look);
# SCALE_DATA_ARGS and SCALE_ARGS go to the generator and to the driver (e.g. SCALE_ARGS="--skip_pipeline").
SCALE_DIR ?= $(or $(ATAC2EXPR_HOME),$(HOME)/.cache/atac2expr)/scale
SCALE ?= 1
SCALE_DATA_ARGS ?=
SCALE_ARGS ?=
.PHONY: bench-scale
bench-scale:
	$(WITH_ENV) nice python benchmarks/make_scale_data.py --outdir $(SCALE_DIR)/data-x$(SCALE) --scale $(SCALE) $(SCALE_DATA_ARGS)
	$(WITH_ENV) python benchmarks/bench_scale.py --data $(SCALE_DIR)/data-x$(SCALE) --workdir $(SCALE_DIR)/run-x$(SCALE) \
	    --report $(SCALE_DIR)/report-x$(SCALE).md $(SCALE_ARGS)

# Real data (../shared/data/heme_hg19: 14 blood cell types, hg19 peaks, RNA-seq counts, a TSS-only RefSeq BED), every
# file as it lies: one whole-chromosome run per entry of BENCH_REAL_CHROMS, then the held-out table per chromosome and
# model with seconds per fit ($(BENCH_REAL_DIR)/report.md). BENCH_REAL_MODELS goes to --eval_models (a new model is
# benchmarked by adding its name); BENCH_REAL_ARGS to every nextflow run (e.g. "--bin_value signal"). The MLP is left
# out of the default: at whole-chromosome size its evaluation takes over an hour per chromosome.
BENCH_REAL_DATA ?= $(abspath $(CURDIR)/../shared/data/heme_hg19)
BENCH_REAL_DIR ?= $(or $(ATAC2EXPR_HOME),$(HOME)/.cache/atac2expr)/bench-real
BENCH_REAL_CHROMS ?= chr2,chr11,chr19
BENCH_REAL_MODELS ?= mean,ridge,archr,signac,promoter,tss_window,local_ridge,tss_similarity,blend
BENCH_REAL_ARGS ?=
.PHONY: bench-real
bench-real:
	$(WITH_ENV) python benchmarks/bench_real.py --data $(BENCH_REAL_DATA) --workdir $(BENCH_REAL_DIR) \
	    --chromosomes $(BENCH_REAL_CHROMS) --models $(BENCH_REAL_MODELS) -- $(BENCH_REAL_ARGS)

clean:
	rm -rf work .nextflow .nextflow.log* $(OUTDIR) test_data
