"""bin/stub_tables.py: a -stub run's tables get their headers from formats.py, never from a header written by hand."""

from __future__ import annotations

import re

import pytest

from atac2expr import formats
from atac2expr.commands import stub_tables
from conftest import REPO

# kallisto's own abundance.tsv: its environment (envs/kallisto.yml) has no pandas to run stub_tables.py
KALLISTO_OWN = {"kallisto_quant.nf"}


def stub_blocks() -> dict[str, str]:
    """modules/<name>.nf -> its stub's script."""
    blocks = {}
    for module in sorted((REPO / "modules").glob("*.nf")):
        text = module.read_text()
        if "stub:" in text:
            blocks[module.name] = text.split("stub:", 1)[1]
    return blocks


def test_stub_tables_write_each_header_from_formats(tmp_path):
    assert stub_tables.main([f"genes={tmp_path}/genes.tsv", f"metrics={tmp_path}/evaluation/metrics.tsv", f"samplesheet_reads={tmp_path}/s.csv",
                             f"predictions_observed={tmp_path}/p.tsv", f"gene_tpm_matrix={tmp_path}/m.tsv"]) == 0
    assert (tmp_path / "genes.tsv").read_text() == "\t".join(formats.GENES.columns) + "\n"
    assert formats.GENES.read(tmp_path / "genes.tsv").empty
    assert formats.METRICS.read(tmp_path / "evaluation" / "metrics.tsv").empty
    assert (tmp_path / "s.csv").read_text() == "sample,fastq_1,fastq_2,peaks\n"
    assert (tmp_path / "p.tsv").read_text().split() == formats.PREDICTIONS.columns(observed=True)
    assert (tmp_path / "m.tsv").read_text() == "gene_id\tgene_name\n"


def test_every_table_of_formats_has_a_stub_header():
    tables = {name.lower() for name, value in vars(formats).items() if isinstance(value, formats.Table)}
    assert tables <= set(stub_tables.headers())


@pytest.mark.parametrize("argument", ["nonsense=x.tsv", "genes", "genes="])
def test_an_unknown_table_is_one_error_line_and_nothing_written(argument, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert stub_tables.main(["transcripts=transcripts.tsv", argument]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ERROR: {argument}: not TABLE=PATH") and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_stubs_write_no_table_header_by_hand():
    """No stub writes a .tsv or .csv with printf or echo; the tables it names are ones stub_tables.py knows."""
    known = set(stub_tables.headers())
    for name, block in stub_blocks().items():
        by_hand = re.findall(r"(?:printf|echo)\s+'[^']*'\s*>\s*(\S+\.(?:tsv|csv))", block)
        if name in KALLISTO_OWN:
            assert all(path.endswith("abundance.tsv") for path in by_hand), (name, by_hand)
            continue
        assert not by_hand, f"{name}: the stub writes {by_hand} by hand; use stub_tables.py"
        for table in re.findall(r"\b([a-z_]+)=\S+\.(?:tsv|csv)\b", block):
            assert table in known, f"{name}: stub_tables.py has no table {table}"
