"""Peaks -> bins: edge cases of half-open coordinates, formats and chromosome names."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import binarize_peaks
from atac2expr.cli import InputError
from atac2expr.peaks import binarize_peaks as binarize, read_peaks
from atac2expr.regions import make_bins, normalize_chrom, parse_regions

REGION = parse_regions("chr1:1-10000")  # [0, 10000): 10 bins of 1 kb


def peaks(*rows: tuple[str, int, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["chrom", "start", "end"]).astype({"start": np.int64, "end": np.int64})


def open_bins(frame: pd.DataFrame, regions=REGION, bin_size: int = 1000) -> list[int]:
    return list(np.flatnonzero(binarize(frame, regions, bin_size)))


def test_peak_ending_exactly_on_a_bin_edge_stays_in_its_bin():
    assert open_bins(peaks(("1", 500, 1000))) == [0]  # end is exclusive


def test_peak_starting_exactly_on_a_bin_edge():
    assert open_bins(peaks(("1", 1000, 1001))) == [1]


def test_peak_one_base_across_an_edge_opens_both_bins():
    assert open_bins(peaks(("1", 999, 1001))) == [0, 1]


def test_peak_spanning_many_bins():
    assert open_bins(peaks(("1", 1500, 6200))) == [1, 2, 3, 4, 5, 6]


def test_peaks_outside_the_region_are_ignored_and_clipped():
    assert open_bins(peaks(("1", 10000, 12000), ("2", 0, 5000), ("1", 9800, 15000))) == [9]


def test_overlapping_peaks():
    assert open_bins(peaks(("1", 100, 900), ("1", 200, 2500), ("1", 2400, 2600))) == [0, 1, 2]


def test_no_peaks_all_zero():
    values = binarize(peaks(), REGION, 1000)
    assert values.shape == (10,) and values.sum() == 0 and values.dtype == np.uint8


def test_region_not_starting_at_zero_and_two_regions():
    regions = parse_regions("chr1:2001-4000,chr2:1-2000")
    assert open_bins(peaks(("1", 2500, 2600), ("2", 1999, 2000)), regions) == [0, 3]


def test_whole_genome_sized_region_matches_a_naive_reference():
    """3 million 1 kb bins and 200,000 random peaks: same answer as a per-peak loop."""
    regions = parse_regions("chr1:1-3000000000")
    rng = np.random.default_rng(0)
    starts = rng.integers(0, 3_000_000_000 - 5000, 200_000)
    ends = starts + rng.integers(1, 5000, len(starts))
    values = binarize(pd.DataFrame({"chrom": "1", "start": starts, "end": ends}), regions, 1000)
    expected = np.zeros(3_000_000, dtype=np.uint8)
    for start, end in zip(starts.tolist(), ends.tolist()):
        expected[start // 1000 : (end - 1) // 1000 + 1] = 1
    assert values.shape == (3_000_000,)
    assert np.array_equal(values, expected)


@pytest.mark.parametrize("header", ["", "track name=peaks\n", "# comment\nbrowser position chr1\n"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_peaks_formats(tmp_path, header, compress):
    body = header + "chr1\t100\t200\tp1\t0\t.\t5\t-1\t-1\t50\nchrM\t5\t10\n"
    path = tmp_path / ("p.bed.gz" if compress else "p.bed")
    path.write_bytes(gzip.compress(body.encode()) if compress else body.encode())
    frame = read_peaks(path)
    assert list(frame["chrom"]) == ["1", "MT"] and list(frame["start"]) == [100, 5]


def test_empty_peak_file_gives_all_zero_bins(tmp_path):
    empty = tmp_path / "empty.bed"
    empty.write_text("")
    out = tmp_path / "s.bins.npz"
    assert binarize_peaks.main(["--peaks", str(empty), "--sample", "s", "--region", "chr1:1-10000", "--output", str(out)]) == 0
    with np.load(out) as npz:
        assert npz["values"].shape == (10,) and npz["values"].sum() == 0 and str(npz["sample"]) == "s"


def test_mixed_chromosome_names_refused(tmp_path):
    path = tmp_path / "mixed.bed"
    path.write_text("chr1\t1\t100\n1\t200\t300\n")
    with pytest.raises(InputError, match="mixes chromosome names"):
        read_peaks(path)


def test_bad_coordinates_refused(tmp_path, capsys):
    path = tmp_path / "bad.bed"
    path.write_text("chr1\t500\t100\n")
    assert binarize_peaks.main(["--peaks", str(path), "--sample", "s", "--region", "chr1:1-10000", "--output", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ERROR: ") and "bad.bed" in err[-1] and "peak 1" in err[-1]
    assert not (tmp_path / "o.npz").exists()


def test_non_utf8_peak_file_refused(tmp_path):
    path = tmp_path / "latin1.bed"
    path.write_bytes(b"chr1\t1\t100\tpe\xe9k\n")
    with pytest.raises(InputError, match="not valid UTF-8"):
        read_peaks(path)


def test_peaks_only_on_other_chromosomes_warn(tmp_path, capsys):
    path = tmp_path / "chr2.bed"
    path.write_text("chr2\t1\t100\n")
    out = tmp_path / "o.npz"
    assert binarize_peaks.main(["--peaks", str(path), "--sample", "s", "--region", "chr1:1-10000", "--output", str(out)]) == 0
    with np.load(out) as npz:
        assert npz["values"].sum() == 0
    assert "none of its 1 peaks is on a chromosome of the region" in capsys.readouterr().err


@pytest.mark.parametrize("name, expected", [("chr1", "1"), ("1", "1"), ("chrM", "MT"), ("MT", "MT"), ("chrX", "X"), ("chrEBV", "EBV")])
def test_normalize_chrom(name, expected):
    assert normalize_chrom(name) == expected


@pytest.mark.parametrize("text, message", [
    ("chr1:500-100", "before start"), ("chr1:0-100", ">= 1"), ("chr1-100", "not of the form"),
    ("chr1:1-100,1:50-200", "overlap"),
])
def test_bad_regions(text, message):
    with pytest.raises(InputError, match=message):
        parse_regions(text)


def test_bin_size_must_divide_region():
    with pytest.raises(InputError, match="does not divide"):
        make_bins(parse_regions("chr1:1-1500"), 1000)
