"""atac2expr.regions: every --region form and refusal, chromosome sizes, and the bin layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planted import CHROM_SIZES

from atac2expr.cli import InputError
from atac2expr.regions import (
    PRIMARY_CHROMOSOMES,
    BinLayout,
    Region,
    format_regions,
    normalize_chrom,
    normalize_chroms,
    parse_regions,
    read_chrom_sizes,
)

SIZES = read_chrom_sizes(CHROM_SIZES)
CHR1, CHR2 = SIZES["1"], SIZES["2"]


def regions_of(text: str) -> list[tuple[str, int, int]]:
    return [(r.chrom, r.start, r.end) for r in parse_regions(text, SIZES)]


def refusal(text: str) -> str:
    with pytest.raises(InputError) as err:
        parse_regions(text, SIZES)
    message = str(err.value)
    assert "\n" not in message and message.startswith("--region ")
    return message


# ---------------------------------------------------------------- chromosome names and sizes

@pytest.mark.parametrize("name, expected", [("chr1", "1"), ("1", "1"), ("Chr2", "2"), ("chrM", "MT"), ("M", "MT"), ("MT", "MT"),
                                            ("chrX", "X"), ("chrEBV", "EBV"), (" chr7 ", "7"), ("chrUn_KI270742v1", "Un_KI270742v1")])
def test_normalize_chrom(name, expected):
    assert normalize_chrom(name) == expected
    assert normalize_chroms(pd.Series([name])).tolist() == [expected]  # the vectorised form agrees


def test_chrom_sizes_of_the_assets():
    assert list(SIZES)[:3] == ["1", "2", "3"] and SIZES["1"] == 248_956_422 and SIZES["MT"] == 16_569
    assert set(PRIMARY_CHROMOSOMES) < set(SIZES)


@pytest.mark.parametrize("content, message", [
    ("chr1\t100\nchr1\t200\n", "line 2: chromosome chr1 (1) is listed twice"),
    ("chr1 100\n", "line 1: expected 'chromosome<TAB>length'"),
    ("chr1\t0\n", "line 1: expected 'chromosome<TAB>length' with a positive length"),
    ("chr1\tlong\n", "line 1"),
    ("# only a comment\n", "no chromosomes"),
])
def test_bad_chrom_sizes(tmp_path, content, message):
    path = tmp_path / "sizes.txt"
    path.write_text(content)
    with pytest.raises(InputError, match="sizes.txt") as err:
        read_chrom_sizes(path)
    assert message in str(err.value)


def test_chrom_sizes_names_normalised_order_kept(tmp_path):
    path = tmp_path / "ucsc.sizes"
    path.write_text("chrX\t1000\nchr1\t500\r\nchrM\t16\n\n")
    assert read_chrom_sizes(path) == {"X": 1000, "1": 500, "MT": 16}
    assert list(read_chrom_sizes(path)) == ["X", "1", "MT"]


# ---------------------------------------------------------------- accepted --region forms

@pytest.mark.parametrize("text, expected", [
    ("chr1", [("1", 0, CHR1)]),
    ("1", [("1", 0, CHR1)]),
    ("chr1:1-1000000", [("1", 0, 1_000_000)]),
    ("chr1:1,000-2,000", [("1", 999, 2000)]),  # samtools-style thousands separators
    ("chr1:1-1,000,000", [("1", 0, 1_000_000)]),
    ("chr1:1-500000, chr1:500001-1000000", [("1", 0, 500_000), ("1", 500_000, 1_000_000)]),
    ("chr1:1-1000,2", [("1", 0, 1000), ("2", 0, CHR2)]),  # a range, then the whole chromosome 2
    ("chrX,chr2:5-10", [("X", 0, SIZES["X"]), ("2", 4, 10)]),
    ("chrM", [("MT", 0, 16_569)]),
    (" chr1:5-5 ", [("1", 4, 5)]),  # a single base
    (f"chr1:1-{CHR1}", [("1", 0, CHR1)]),  # to the last base
    ("chr2:1-10,chr1:1-10", [("2", 0, 10), ("1", 0, 10)]),  # the order as written is kept
])
def test_accepted_region_forms(text, expected):
    assert regions_of(text) == expected


@pytest.mark.parametrize("text", ["genome", "GENOME", "Genome"])
def test_genome_is_the_primary_chromosomes_without_mt(text):
    regions = parse_regions(text, SIZES)
    assert [r.chrom for r in regions] == [str(i) for i in range(1, 23)] + ["X", "Y"]
    assert all(r.start == 0 and r.end == SIZES[r.chrom] for r in regions)
    assert "MT" not in {r.chrom for r in regions}


def test_genome_with_contigs_in_the_sizes_leaves_them_out():
    sizes = {**SIZES, "Un_KI270742v1": 186_739, "EBV": 171_823}
    assert [r.chrom for r in parse_regions("genome", sizes)] == list(PRIMARY_CHROMOSOMES)
    with pytest.raises(InputError, match="none of the primary chromosomes"):
        parse_regions("genome", {"EBV": 171_823})


def test_region_string_round_trips_through_format():
    regions = parse_regions("chr1:1,001-2,000,chr2:5-10", SIZES)
    assert format_regions(regions) == "1:1001-2000,2:5-10"
    assert parse_regions(format_regions(regions), SIZES) == regions
    assert str(Region("1", 0, 10)) == "1:1-10" and Region("1", 0, 10).length == 10


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("text, message", [
    ("chr1:1-100,chr1:50-200", "regions 1:1-100 and 1:50-200 overlap"),
    ("chr1,chr1:5-10", "overlap"),  # a whole chromosome and a range of it
    ("genome,chr2:1-10", "overlap"),
    ("chr1:1-100,1:1-100", "overlap"),  # the same region twice, written two ways
    (f"chr1:{CHR1}-{CHR1 + 1}", "ends past the end of chromosome 1 (248,956,422 bp"),
    ("chrM:1-16570", "ends past the end of chromosome MT"),
    ("chr9x:1-10", "chromosome chr9x (9x) is not in --chrom_sizes"),
    ("chrUn_KI270742v1", "is not in --chrom_sizes"),
    ("chr1:0-10", "starts at 0; coordinates are 1-based"),
    ("chr1:10-5", "ends (5) before it starts (10)"),
    ("chr1:1-10,", "ends with a comma"),
    ("chr1:1-10, ", "ends with a comma"),
    ("chr1:1-10,,chr2", "is not a region"),
    ("chr1:1-10;rm -rf /", "'chr1:1-10;rm -rf /' is not a region"),
    ("$(touch x)", "is not a region"),
    ("`touch x`", "is not a region"),
    ("chr1:1-10|cat", "is not a region"),
    ("chr1:1-10 && ls", "is not a region"),
    ("'chr1'", "is not a region"),
    ("chr1-100", "is not a region"),
    ("chr1:100", "is not a region"),
    ("chr1:-5-10", "is not a region"),
    ("chr1:1.5-10", "is not a region"),
    ("", "empty"),
])
def test_refused_regions(text, message):
    assert message in refusal(text)


def test_refusals_name_the_parameter_given():
    with pytest.raises(InputError, match=r"^--predict_region 'chr1:0-5'"):
        parse_regions("chr1:0-5", SIZES, param="--predict_region")
    with pytest.raises(InputError, match="is not in my.sizes"):
        parse_regions("chrZ", SIZES, sizes_source="my.sizes")


# ---------------------------------------------------------------- the bin layout

def layout(text: str, bin_size: int = 1000) -> BinLayout:
    return BinLayout.of(parse_regions(text, SIZES), bin_size)


def test_partial_last_bins_and_offsets():
    lay = layout("chr1:1-2500,chr2:1001-3000,chr3:1-999", 1000)
    assert lay.bins_per_region.tolist() == [3, 2, 1]
    assert lay.offsets.tolist() == [0, 3, 5, 6] and lay.n_bins == 6
    bins = lay.bins()
    assert list(bins.columns) == ["chrom", "start", "end"]
    assert bins.values.tolist() == [["1", 0, 1000], ["1", 1000, 2000], ["1", 2000, 2500],  # the last bin ends at the real end
                                    ["2", 1000, 2000], ["2", 2000, 3000],
                                    ["3", 0, 999]]
    assert lay.chroms == ["1", "2", "3"]


def test_whole_chromosome_bins_end_at_its_last_base():
    lay = layout("chr21", 1000)
    bins = lay.bins()
    assert lay.n_bins == -(-SIZES["21"] // 1000) == len(bins)
    assert bins["end"].iloc[-1] == SIZES["21"] and bins["end"].iloc[-1] - bins["start"].iloc[-1] == SIZES["21"] % 1000
    assert (np.diff(bins["start"].to_numpy()) == 1000).all()


def test_genome_at_1kb():
    lay = layout("genome", 1000)
    assert lay.n_bins == 3_088_281
    assert lay.offsets[-1] == lay.n_bins and len(lay.offsets) == 25
    bins = lay.bins()
    assert len(bins) == lay.n_bins and (bins["end"] > bins["start"]).all()
    assert bins["end"].iloc[-1] == SIZES["Y"]


def test_describe_is_short_for_many_regions():
    assert layout("chr1:1-2500").describe() == "1:1-2500 in 3 bins of 1,000 bp"
    text = layout("genome").describe()
    assert text.startswith("24 regions on 24 chromosomes (") and "3,088,281 bins" in text and len(text) < 200


@pytest.mark.parametrize("text, bin_size", [("chr1:1-2500,chr2:1001-3000", 1000), ("genome", 1000), ("chr1:7-7", 1), ("chrX", 3333)])
def test_layout_write_read_round_trip(tmp_path, text, bin_size):
    lay = layout(text, bin_size)
    lay.write(tmp_path / "layout.tsv")
    assert (tmp_path / "layout.tsv").read_text().splitlines()[0] == "chrom\tstart\tend\tbin_size"
    again = BinLayout.read(tmp_path / "layout.tsv")
    assert again == lay and again.fingerprint == lay.fingerprint
    assert BinLayout.from_arrays(lay.to_arrays()) == lay
    assert BinLayout.from_arrays(lay.to_arrays(prefix="x_"), prefix="x_") == lay


@pytest.mark.parametrize("content", [
    "chrom\tstart\tend\n1\t0\t10\n",  # no bin_size column
    "chrom\tstart\tend\tbin_size\n",  # no region
    "chrom\tstart\tend\tbin_size\n1\t0\t10\t5\n2\t0\t10\t2\n",  # two bin sizes
    "region\tbin_size\n1:1-10\t5\n",
    "chrom\tstart\tend\tbin_size\n1\t100\t50\t10\n",  # end before start: a negative number of bins
    "chrom\tstart\tend\tbin_size\n1\t0\t10\t10\n2\t-5\t10\t10\n",
])
def test_not_a_layout_table(tmp_path, content):
    path = tmp_path / "layout.tsv"
    path.write_text(content)
    with pytest.raises(InputError, match="not a bin layout table") as err:
        BinLayout.read(path)
    assert "layout.tsv" in str(err.value)


def test_missing_layout_file(tmp_path):
    with pytest.raises(InputError, match="not a bin layout table"):
        BinLayout.read(tmp_path / "none.tsv")


@pytest.mark.parametrize("arrays, error, message", [
    ({"region_chrom": ["1", "2"], "region_start": [0], "region_end": [10, 20], "bin_size": 5}, ValueError, "different lengths"),
    ({"region_chrom": ["1"], "region_start": [10], "region_end": [10], "bin_size": 5}, ValueError, "empty or negative"),
    ({"region_chrom": ["1"], "region_start": [-1], "region_end": [10], "bin_size": 5}, ValueError, "empty or negative"),
    ({"region_chrom": ["1"], "region_start": [20], "region_end": [10], "bin_size": 5}, ValueError, "empty or negative"),
    ({"region_chrom": [], "region_start": [], "region_end": [], "bin_size": 5}, InputError, "no regions"),
    ({"region_chrom": ["1"], "region_start": [0], "region_end": [10], "bin_size": 0}, InputError, "--bin_size 0"),
])
def test_from_arrays_refusals(arrays, error, message):
    with pytest.raises(error, match=message):
        BinLayout.from_arrays(arrays)


def test_from_arrays_needs_every_key():
    arrays = layout("chr1:1-10").to_arrays()
    del arrays["bin_size"]
    with pytest.raises(KeyError):
        BinLayout.from_arrays(arrays)


def test_fingerprint_changes_with_any_region_or_the_bin_size():
    base = layout("chr1:1-10000,chr2:1-5000", 1000)
    variants = [
        layout("chr1:1-10000,chr2:1-5000", 500),  # bin size
        layout("chr1:2-10000,chr2:1-5000", 1000),  # a start
        layout("chr1:1-10001,chr2:1-5000", 1000),  # an end
        layout("chr1:1-10000,chr3:1-5000", 1000),  # a chromosome
        layout("chr2:1-5000,chr1:1-10000", 1000),  # the order
        layout("chr1:1-10000", 1000),  # a region fewer
    ]
    prints = {base.fingerprint, *(v.fingerprint for v in variants)}
    assert len(prints) == len(variants) + 1
    assert base.fingerprint == layout("1:1-10,000,2:1-5,000", 1000).fingerprint  # only the meaning counts, not the spelling
    assert len(base.fingerprint) == 16
