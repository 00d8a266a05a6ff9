# atac2expr: the two commands a user needs are `make demo` and `make test`.
# Each installs what it needs first (setup/setup.sh: Nextflow, kallisto, a Python virtualenv).
SHELL := /bin/bash
WITH_ENV := bash setup/with-env.sh
OUTDIR ?= results
PYTEST_ARGS ?=

.PHONY: help setup test-data demo test test-unit test-e2e test-slurm bench clean

help:
	@echo "make demo       run the whole pipeline on the bundled test dataset (results in $(OUTDIR)/)"
	@echo "make test       run the test suite (unit tests, end-to-end nextflow run, -resume)"
	@echo "make test-unit  unit tests only (fast)"
	@echo "make test-slurm the pipeline through a one-node Slurm cluster on this machine (root; installs slurm-wlm, munge)"
	@echo "make bench      benchmarks (print figures; not tests)"
	@echo "make setup      install Nextflow, kallisto and the Python packages only"

setup:
	@$(WITH_ENV) true

test_data/samplesheet.csv: bin/make_test_data.py
	$(WITH_ENV) python bin/make_test_data.py --outdir test_data

test-data: test_data/samplesheet.csv

demo: test-data
	$(WITH_ENV) nextflow run main.nf -profile test --outdir $(OUTDIR)

test:
	$(WITH_ENV) python -m pytest tests -m "not slurm" $(PYTEST_ARGS)

test-unit:
	$(WITH_ENV) python -m pytest tests -m "not e2e and not slurm" $(PYTEST_ARGS)

test-e2e:
	$(WITH_ENV) python -m pytest tests -m "e2e and not slurm" $(PYTEST_ARGS)

# setup/slurm/start.sh (run by the test) installs Debian's slurm-wlm and munge when missing and root
test-slurm:
	bash setup/slurm/install.sh
	$(WITH_ENV) python -m pytest tests -m slurm $(PYTEST_ARGS)

bench:
	$(WITH_ENV) python benchmarks/bench_binarize.py
	$(WITH_ENV) python benchmarks/bench_tss_window.py --quick
	$(WITH_ENV) python benchmarks/bench_mlp_scaling.py --quick

clean:
	rm -rf work .nextflow .nextflow.log* $(OUTDIR) test_data
