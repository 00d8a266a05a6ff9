"""tests/make_test_data.py: a deterministic test dataset with a planted ATAC -> expression signal."""

from __future__ import annotations

import csv
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import make_test_data
import numpy as np
import pandas as pd
import pytest
from planted import SIZES

from atac2expr.annotation import genes_in_regions, read_gtf
from atac2expr.files import read_text
from atac2expr.peaks import bin_peaks, read_peaks
from atac2expr.regions import BinLayout, parse_regions

SMALL = ["--samples", "4", "--fragments", "2000"]
REGION = "chr1:1-1000000"


def generate(outdir: Path, *extra: str) -> Path:
    assert make_test_data.main(["--outdir", str(outdir), *SMALL, *extra]) == 0
    return outdir


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("testdata"))


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def samplesheet(root: Path) -> list[dict[str, str]]:
    with open(root / "samplesheet.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def fastq_records(path: Path) -> list[tuple[str, str, str, str]]:
    with gzip.open(path, "rt") as handle:
        lines = handle.read().splitlines()
    assert len(lines) % 4 == 0, f"{path}: not 4-line records"
    return [tuple(lines[i : i + 4]) for i in range(0, len(lines), 4)]


def test_same_seed_same_bytes(dataset, tmp_path):
    again = generate(tmp_path / "again")
    assert all_files(again) == all_files(dataset)
    assert not [p for p in again.rglob("*") if p.name.startswith(".")], "temporary files left behind"


def test_other_seed_other_data(dataset, tmp_path):
    other = generate(tmp_path / "other", "--seed", "2")
    assert all_files(other)["truth.tsv"] != all_files(dataset)["truth.tsv"]


def test_gtf_is_the_pyranges_copy(dataset):
    assert (dataset / "genes.gtf.gz").read_bytes() == make_test_data.pyranges_gtf().read_bytes()


def test_samplesheet_relative_paths_resolve(dataset):
    rows = samplesheet(dataset)
    assert list(rows[0]) == ["sample", "fastq_1", "fastq_2", "peaks"]
    assert [r["sample"] for r in rows] == ["S01", "S02", "S03", "S04"]
    for row in rows:
        for column in ("fastq_1", "fastq_2", "peaks"):
            if row[column]:
                assert not Path(row[column]).is_absolute()
                assert (dataset / row[column]).is_file(), row[column]
    assert [bool(r["fastq_2"]) for r in rows] == [True, True, False, False]  # the last two are single-end


def test_fastq_records(dataset):
    for row in samplesheet(dataset):
        mates = [fastq_records(dataset / row[c]) for c in ("fastq_1", "fastq_2") if row[c]]
        for records in mates:
            assert len(records) == 2000
            for name, seq, plus, quality in records:
                assert name.startswith("@") and plus == "+"
                assert len(seq) == 75 and set(seq) <= set("ACGT")
                assert quality == "I" * 75
        if len(mates) == 2:
            assert [r[0][:-2] for r in mates[0]] == [r[0][:-2] for r in mates[1]]  # same fragment names


def test_reads_come_from_the_transcriptome(dataset):
    fasta = read_text(dataset / "transcriptome.fa.gz")
    seqs = "|".join("".join(block.split("\n")[1:]) for block in fasta.split(">")[1:])
    complement = str.maketrans("ACGT", "TGCA")
    row = samplesheet(dataset)[0]
    r1, r2 = (fastq_records(dataset / row[c])[:100] for c in ("fastq_1", "fastq_2"))
    found1 = sum(rec[1] in seqs for rec in r1)
    found2 = sum(rec[1].translate(complement)[::-1] in seqs for rec in r2)
    # 0.1% errors: ~93% of 75 bp reads are error-free
    assert found1 >= 80 and found2 >= 80


def test_transcriptome_headers(dataset):
    headers = [ln[1:] for ln in read_text(dataset / "transcriptome.fa.gz").splitlines() if ln.startswith(">")]
    _, transcripts = read_gtf(dataset / "genes.gtf.gz")
    ids = [h.split()[0] for h in headers]
    assert all("." in i for i in ids)  # version suffixes
    assert headers[0].startswith("ENST00000456328.2 cdna chromosome:GRCh38:1:11869:14409:1 gene:ENSG00000223972.5 ")
    assert "gene_symbol:DDX11L1" in headers[0]
    versionless = {i.rsplit(".", 1)[0] for i in ids}
    assert set(transcripts["transcript_id"]) <= versionless
    decoys = versionless - set(transcripts["transcript_id"])
    assert len(decoys) == 3


def _canonical_kmers(seq: str, k: int = 31) -> set[str]:
    """k-mers of a sequence and of its reverse complement (kallisto does not know the strand)."""
    rc = seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]
    return {s[i : i + k] for s in (seq, rc) for i in range(len(s) - k + 1)}


def test_genes_never_share_sequence(dataset):
    """Each gene has its own random sequence: a read of one gene never matches another (kallisto would split
    or misassign it), even where the GTF's genes overlap, while a gene's isoforms still share exons."""
    fasta = read_text(dataset / "transcriptome.fa.gz")
    gene_of, seqs = [], []
    for block in fasta.split(">")[1:]:
        header, *lines = block.split("\n")
        gene_of.append(header.split(" gene:")[1].split()[0].rsplit(".", 1)[0])
        seqs.append("".join(lines))
    genes, _ = read_gtf(dataset / "genes.gtf.gz")
    overlapping = genes.merge(genes, on="chrom").query("gene_id_x < gene_id_y and start_x <= end_y and start_y <= end_x")
    assert len(overlapping) >= 5  # the GTF has overlapping genes, which once shared sequence
    owner: dict[str, tuple[str, int]] = {}  # k-mer -> (gene, transcript) where first seen
    shared_between_genes, isoforms_sharing = 0, set()
    for t, (gene, seq) in enumerate(zip(gene_of, seqs, strict=True)):
        for kmer in _canonical_kmers(seq):
            first_gene, first_t = owner.setdefault(kmer, (gene, t))
            if first_gene != gene:
                shared_between_genes += 1
            elif first_t != t:
                isoforms_sharing.add(gene)
    assert shared_between_genes == 0
    multi = pd.Series(gene_of).value_counts()
    assert isoforms_sharing & set(multi[multi > 1].index)  # isoforms of a gene do share exons


def test_peak_files(dataset):
    rows = samplesheet(dataset)
    files = [dataset / r["peaks"] for r in rows]
    assert [f.read_bytes()[:2] == b"\x1f\x8b" for f in files] == [True, False, True, True]
    assert read_text(files[2]).startswith("track ")
    assert len(read_text(files[1]).splitlines()[0].split("\t")) == 3
    assert len(read_text(files[0]).splitlines()[0].split("\t")) == 10
    bins = 1000
    for f in files:
        raw = read_text(f)
        assert all(ln.startswith(("chr", "track")) for ln in raw.splitlines())
        peaks = read_peaks(f)
        width = peaks["end"] - peaks["start"]
        assert width.between(150, 2000).all()
        on1 = peaks[peaks["chrom"] == "1"]
        assert (peaks["chrom"] == "2").any()
        assert (on1["start"] >= 1_000_000).any()
        spans_edge = on1["start"] // bins != (on1["end"] - 1) // bins
        assert spans_edge.sum() >= 10
        assert ((on1["end"] - 1) // bins - on1["start"] // bins >= 2).any()  # spans three bins or more


def test_signal_samplesheet_has_narrowpeak_for_every_sample(dataset):
    """samplesheet_signal.csv: the same samples and reads, every sample's peaks as narrowPeak with a signal (the BED3
    sample's at the same places), so the test data run with --bin_value signal; and a group per sample."""
    with open(dataset / "samplesheet_signal.csv", newline="") as handle:
        signal_rows = list(csv.DictReader(handle))
    rows = samplesheet(dataset)
    assert [{**r, "peaks": "", "group": ""} for r in signal_rows] == [{**r, "peaks": "", "group": ""} for r in rows]
    assert all(r["group"].startswith("program") for r in signal_rows) and len({r["group"] for r in signal_rows}) >= 2
    assert [r["peaks"] for r in signal_rows] == [r["peaks"].replace(".bed", ".narrowPeak.gz") for r in rows]
    for row in signal_rows:
        peaks = read_peaks(dataset / row["peaks"], signal=True)
        assert peaks["signal"].between(1, 60).all() and peaks["signal"].std() > 1
    bed3 = read_peaks(dataset / rows[1]["peaks"])
    assert bed3.equals(read_peaks(dataset / signal_rows[1]["peaks"], signal=True).drop(columns="signal"))


def _log_truth(root: Path) -> pd.DataFrame:
    truth = pd.read_csv(root / "truth.tsv", sep="\t")
    return np.log1p(truth.pivot(index="sample", columns="gene_id", values="true_tpm"))


def test_truth_tables(dataset):
    genes, _ = read_gtf(dataset / "genes.gtf.gz")
    truth = pd.read_csv(dataset / "truth.tsv", sep="\t")
    assert list(truth.columns) == ["sample", "gene_id", "gene_name", "true_tpm"]
    assert len(truth) == 4 * len(genes) and (truth["true_tpm"] > 0).all()
    tx = pd.read_csv(dataset / "truth_transcripts.tsv", sep="\t")
    assert np.allclose(tx.groupby("sample")["true_tpm"].sum(), 1e6)
    regulatory = pd.read_csv(dataset / "regulatory_bins.tsv", sep="\t", dtype={"chrom": str})
    assert list(regulatory.columns) == ["gene_id", "gene_name", "chrom", "bin_start", "bin_end", "weight", "program"]
    assert regulatory["program"].between(0, 3).all()  # 4 programs by default
    assert (regulatory.groupby(["chrom", "bin_start"])["program"].nunique() == 1).all()  # a shared bin has one program
    programs = pd.read_csv(dataset / "programs.tsv", sep="\t")
    assert list(programs.columns) == ["sample", "program", "active"] and len(programs) == 4 * 4
    in_region = genes_in_regions(genes, parse_regions(REGION, SIZES))
    assert set(regulatory["gene_id"]) == set(in_region["gene_id"])  # every gene of the region has a regulatory bin
    assert regulatory.groupby("gene_id").size().between(1, 3).all()
    tss = regulatory.merge(in_region[["gene_id", "tss"]], on="gene_id")
    assert ((tss["bin_end"] > tss["tss"] - 20_000) & (tss["bin_start"] <= tss["tss"] + 20_000)).all()
    assert (regulatory["weight"] > 0).all() and (regulatory["bin_end"] <= 1_000_000).all()


def test_planted_signal(dataset):
    """Expression follows the peaks: across samples, log expression tracks the weighted open regulatory bins."""
    layout = BinLayout.of(parse_regions(REGION, SIZES), 1000)
    bins = layout.bins()
    open_ = {r["sample"]: bin_peaks(read_peaks(dataset / r["peaks"]), layout, "binary") for r in samplesheet(dataset)}
    X = pd.DataFrame(open_, index=bins["start"]).T  # samples x bin start
    regulatory = pd.read_csv(dataset / "regulatory_bins.tsv", sep="\t")
    log_tpm = _log_truth(dataset)
    correlations = {}
    for gene, grp in regulatory.groupby("gene_id"):
        predictor = (X[grp["bin_start"].to_numpy()].to_numpy() * grp["weight"].to_numpy()).sum(axis=1)
        assert predictor.std() > 0  # each regulatory bin is open in some samples and closed in others
        correlations[gene] = np.corrcoef(predictor, log_tpm.loc[X.index, gene])[0, 1]
    correlations = pd.Series(correlations)
    assert (correlations > 0.5).mean() > 0.8, correlations.describe()


@pytest.fixture(scope="module")
def default_size(tmp_path_factory) -> Path:
    """The default 16 samples (few reads: the peaks and the truth do not depend on --fragments)."""
    root = tmp_path_factory.mktemp("default_size")
    assert make_test_data.main(["--outdir", str(root), "--fragments", "200"]) == 0
    return root


def _open_bins(root: Path) -> pd.DataFrame:
    """samples x bin start: 1 where the sample's peaks cover the bin."""
    layout = BinLayout.of(parse_regions(REGION, SIZES), 1000)
    return pd.DataFrame({r["sample"]: bin_peaks(read_peaks(root / r["peaks"]), layout, "binary") for r in samplesheet(root)},
                        index=layout.bins()["start"]).T


def test_planted_signal_default_size(default_size):
    """With 16 samples the regulatory bins' openness explains most of each gene's expression."""
    root = default_size
    X = _open_bins(root)
    assert len(X) == 16
    regulatory = pd.read_csv(root / "regulatory_bins.tsv", sep="\t")
    log_tpm = _log_truth(root)
    r = pd.Series({
        gene: np.corrcoef((X[g["bin_start"].to_numpy()].to_numpy() * g["weight"].to_numpy()).sum(axis=1), log_tpm.loc[X.index, gene])[0, 1]
        for gene, g in regulatory.groupby("gene_id")
    })
    assert r.median() > 0.8 and (r > 0.5).mean() > 0.9, r.describe()
    # background peaks never touch a regulatory bin, and they are there
    reg_bins = set(regulatory["bin_start"])
    other = X[[b for b in X.columns if b not in reg_bins]]
    assert other.to_numpy().sum() > 10 * len(X)
    assert 0.05 < X.to_numpy().mean() < 0.15  # realistic: a minority of the bins are open


def test_programs_open_bins_together(default_size):
    """Latent programs: regulatory bins of one program open and close together across samples, so a model
    that reads all bins can learn from 16 samples which bins go with which genes."""
    root = default_size
    X = _open_bins(root)
    programs = pd.read_csv(root / "programs.tsv", sep="\t")
    active = programs.pivot(index="sample", columns="program", values="active").loc[X.index]
    assert active.shape[1] == 4
    assert active.sum(axis=0).between(3, 13).all()  # each program active in >= 3 samples and inactive in >= 3
    assert (active.sum(axis=1) == 2).all()  # every sample has half its programs active
    regulatory = pd.read_csv(root / "regulatory_bins.tsv", sep="\t").drop_duplicates(["chrom", "bin_start"])
    assert regulatory.groupby("program").size().min() >= 10
    openness = X[regulatory["bin_start"].to_numpy()].to_numpy().astype(float)
    corr = np.corrcoef(openness.T)
    program = regulatory["program"].to_numpy()
    same = program[:, None] == program[None, :]
    off_diagonal = ~np.eye(len(program), dtype=bool)
    within, between = corr[same & off_diagonal].mean(), corr[~same].mean()
    assert within > 0.6 and between < 0.1, (within, between)
    # a bin is open mostly where its program is active
    on = active.to_numpy()[:, program].astype(bool)
    assert openness[on].mean() > 0.85 and openness[~on].mean() < 0.15
    # most genes' bins all belong to one program
    per_gene = pd.read_csv(root / "regulatory_bins.tsv", sep="\t").groupby("gene_id")["program"].nunique()
    assert (per_gene == 1).mean() > 0.6


def test_bad_arguments(tmp_path, capsys):
    assert make_test_data.main(["--outdir", str(tmp_path), "--samples", "2"]) == 2
    assert capsys.readouterr().err.strip().startswith("ERROR: --samples 2")
    assert make_test_data.main(["--outdir", str(tmp_path), "--region", "chr5:1-1000"]) == 2
    assert "no gene" in capsys.readouterr().err
    assert make_test_data.main(["--outdir", str(tmp_path), "--bin_size", "0"]) == 2
    assert "--bin_size 0: must be a positive number of bases" in capsys.readouterr().err
    assert make_test_data.main(["--outdir", str(tmp_path), "--programs", "0"]) == 2
    assert capsys.readouterr().err.strip().endswith("ERROR: --programs 0: must be at least 1")
    assert not any(tmp_path.iterdir())


def test_script_runs_as_a_command(tmp_path):
    script = Path(make_test_data.__file__)
    assert os.access(script, os.X_OK)
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, check=True)
    assert "--fragments" in result.stdout


@pytest.mark.skipif(shutil.which("kallisto") is None, reason="kallisto is not on PATH")
def test_kallisto_recovers_the_truth(tmp_path):
    root = tmp_path / "d"
    assert make_test_data.main(["--outdir", str(root), "--samples", "4", "--fragments", "10000"]) == 0
    index = tmp_path / "index.idx"
    subprocess.run(["kallisto", "index", "-i", str(index), str(root / "transcriptome.fa.gz")], check=True, capture_output=True)
    truth = pd.read_csv(root / "truth_transcripts.tsv", sep="\t")
    rows = {r["sample"]: r for r in samplesheet(root)}
    for sample, mode in (("S01", []), ("S04", ["--single", "-l", "200", "-s", "20"])):
        row = rows[sample]
        out = tmp_path / sample
        fastqs = [str(root / row[c]) for c in ("fastq_1", "fastq_2") if row[c]]
        subprocess.run(["kallisto", "quant", "-i", str(index), "-o", str(out), "-t", "1", *mode, *fastqs], check=True, capture_output=True)
        abundance = pd.read_csv(out / "abundance.tsv", sep="\t")
        estimated = pd.Series(abundance["tpm"].to_numpy(), index=abundance["target_id"].str.rsplit(".", n=1).str[0])
        expected = truth[truth["sample"] == sample].set_index("transcript_id")["true_tpm"]
        assert set(estimated.index) == set(expected.index)
        expected = expected[expected > 0]
        rho = expected.rank().corr(estimated[expected.index].rank())  # Spearman without scipy
        assert rho > 0.7, f"{sample}: Spearman {rho:.2f} over transcripts"
        gene_of = truth[truth["sample"] == sample].set_index("transcript_id")["gene_id"]
        by_gene = pd.DataFrame({"truth": expected, "kallisto": estimated[expected.index]}).groupby(gene_of[expected.index]).sum()
        rho = by_gene["truth"].rank().corr(by_gene["kallisto"].rank())
        assert rho > 0.85, f"{sample}: Spearman {rho:.2f} over genes"
        # genes never share sequence, so kallisto gives no expressed gene 0 TPM (when genes that overlap in the
        # GTF shared sequence, it gave all the reads of some of them to another gene)
        missed = by_gene[(by_gene["truth"] > 10) & (by_gene["kallisto"] == 0)]
        assert len(missed) == 0, missed
        log_error = np.log1p(by_gene["kallisto"]) - np.log1p(by_gene["truth"])
        assert (log_error.abs() < 1.5).all(), log_error.describe()
