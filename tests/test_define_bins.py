"""bin/define_bins.py: --region and --bin_size -> the bin layout table every later step reads."""

from __future__ import annotations

import pytest
from planted import CHROM_SIZES, SIZES

from atac2expr.commands import define_bins
from atac2expr.regions import BinLayout


def run(tmp_path, region: str, bin_size: str = "1000"):
    out = tmp_path / "out" / "layout.tsv"
    code = define_bins.main(["--region", region, "--bin_size", bin_size, "--chrom_sizes", str(CHROM_SIZES), "--genome", "GRCh38", "--output", str(out)])
    return code, out


def test_regions_in_order_with_partial_bins(tmp_path, capsys):
    code, out = run(tmp_path, "chr2:1,001-3,500, chr1:1-1000")
    assert code == 0
    assert out.read_text() == "chrom\tstart\tend\tbin_size\n2\t1000\t3500\t1000\n1\t0\t1000\t1000\n"
    layout = BinLayout.read(out)
    assert layout.n_bins == 4 and layout.bins()["end"].tolist() == [2000, 3000, 3500, 1000]
    assert "2:1001-3500,1:1-1000 in 4 bins of 1,000 bp (1 regions end in a shorter bin)" in capsys.readouterr().err


def test_genome_leaves_out_mt_and_says_so(tmp_path, capsys):
    code, out = run(tmp_path, "genome")
    assert code == 0
    layout = BinLayout.read(out)
    assert layout.n_bins == 3_088_281 and [r.chrom for r in layout.regions] == [str(i) for i in range(1, 23)] + ["X", "Y"]
    assert all(r.end == SIZES[r.chrom] for r in layout.regions)
    assert f"1 other sequences of {CHROM_SIZES} left out (MT)" in capsys.readouterr().err


@pytest.mark.parametrize("region, bin_size, message", [
    ("chr1:500-100", "1000", "--region 'chr1:500-100': 'chr1:500-100' ends (100) before it starts (500)"),
    ("chr1:1-10;rm -rf /", "1000", "is not a region"),
    ("chr1:248956001-249000000", "1000", "past the end of chromosome 1"),
    ("chrUn:1-1000", "1000", "chromosome chrUn (Un) is not in --chrom_sizes"),
    ("chr1:1-100,chr1:50-60", "1000", "overlap"),
    ("chr1:1-100", "0", "--bin_size 0: must be a positive number of bases"),
])
def test_bad_regions_one_line_no_output(tmp_path, capsys, region, bin_size, message):
    code, out = run(tmp_path, region, bin_size)
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_twenty_thousand_regions_come_as_a_file(tmp_path, capsys):
    """A list of 20,000 regions (~400 kB) is longer than one command-line argument may be (128 kB on Linux): DEFINE_BINS
    reads it from a file."""
    region = ",".join(f"chr1:{10_000 * i + 1}-{10_000 * i + 1000}" for i in range(20_000))
    assert len(region.encode()) > 128 * 1024
    region_file = tmp_path / "region.txt"
    region_file.write_text(region + "\n")
    out = tmp_path / "layout.tsv"
    assert define_bins.main(["--region_file", str(region_file), "--bin_size", "1000", "--chrom_sizes", str(CHROM_SIZES),
                             "--genome", "GRCh38", "--output", str(out)]) == 0
    layout = BinLayout.read(out)
    assert len(layout.regions) == 20_000 and layout.n_bins == 20_000
