"""Peaks -> bins: half-open edges, many regions in one pass, peak file formats, genome builds, and the script."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planted import CHROM_SIZES, SIZES, layout_of

from atac2expr.cli import InputError
from atac2expr.commands import binarize_peaks
from atac2expr.dataset import load_sample_bins
from atac2expr.peaks import bin_activity, bin_peaks, check_assembly, peak_format, read_peaks
from atac2expr.regions import BinLayout, Region

LAYOUT = layout_of("chr1:1-10000")  # [0, 10000): 10 bins of 1 kb


def binarize(frame: pd.DataFrame, layout: BinLayout) -> np.ndarray:
    return bin_peaks(frame, layout, "binary")


def peaks(*rows: tuple[str, int, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["chrom", "start", "end"]).astype({"chrom": str, "start": np.int64, "end": np.int64})


def open_bins(frame: pd.DataFrame, layout: BinLayout = LAYOUT) -> list[int]:
    return np.flatnonzero(binarize(frame, layout)).tolist()


def naive_binarize(frame: pd.DataFrame, layout: BinLayout) -> np.ndarray:
    """The definition, bin by bin: 1 when a peak on the bin's chromosome overlaps [start, end)."""
    bins = layout.bins()
    by_chrom = {c: (g["start"].to_numpy(), g["end"].to_numpy()) for c, g in frame.groupby("chrom")}
    out = np.zeros(len(bins), dtype=np.uint8)
    for i, (chrom, start, end) in enumerate(bins.itertuples(index=False)):
        if chrom in by_chrom:
            p_start, p_end = by_chrom[chrom]
            out[i] = np.any((p_start < end) & (p_end > start))
    return out


# ---------------------------------------------------------------- binarize_peaks

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


def test_peak_ending_on_the_region_start_is_outside():
    lay = layout_of("chr1:2001-4000")
    assert open_bins(peaks(("1", 1000, 2000)), lay) == []
    assert open_bins(peaks(("1", 1000, 2001)), lay) == [0]
    assert open_bins(peaks(("1", 4000, 4100)), lay) == []  # starts on the region's (exclusive) end


def test_overlapping_peaks():
    assert open_bins(peaks(("1", 100, 900), ("1", 200, 2500), ("1", 2400, 2600))) == [0, 1, 2]


def test_no_peaks_all_zero():
    values = binarize(peaks(), LAYOUT)
    assert values.shape == (10,) and values.sum() == 0 and values.dtype == np.uint8


def test_region_not_starting_at_zero_and_two_regions():
    assert open_bins(peaks(("1", 2500, 2600), ("2", 1999, 2000)), layout_of("chr1:2001-4000,chr2:1-2000")) == [0, 3]


def test_partial_last_bin():
    lay = layout_of("chr1:1-2500")  # bins [0,1000) [1000,2000) [2000,2500)
    assert open_bins(peaks(("1", 2499, 2500)), lay) == [2]
    assert open_bins(peaks(("1", 2500, 3000)), lay) == []
    assert open_bins(peaks(("1", 1999, 9000)), lay) == [1, 2]


def test_peak_spanning_two_adjacent_regions():
    lay = layout_of("chr1:1-2000,chr1:2001-3500")  # adjacent: bins 0, 1 | 2, 3 (the last one 500 bp)
    assert open_bins(peaks(("1", 1500, 2600)), lay) == [1, 2]
    assert open_bins(peaks(("1", 1999, 2001)), lay) == [1, 2]
    assert open_bins(peaks(("1", 0, 5000)), lay) == [0, 1, 2, 3]


def test_regions_listed_out_of_genome_order():
    """The bins follow the layout's order, whatever the genome order: here chr2 first, then chr1's later region first."""
    lay = layout_of("chr2:1-2000,chr1:5001-6000,chr1:1-2000")
    assert open_bins(peaks(("1", 100, 200)), lay) == [3]
    assert open_bins(peaks(("1", 5500, 5600), ("2", 1500, 1600)), lay) == [1, 2]


def test_bin_size_not_dividing_the_regions_matches_the_reference():
    lay = layout_of("chr1:1-10007,chr2:501-1700,chr3:1-3", 333)
    frame = peaks(("1", 0, 1), ("1", 332, 334), ("1", 10006, 10007), ("2", 1600, 1800), ("3", 2, 100))
    assert np.array_equal(binarize(frame, lay), naive_binarize(frame, lay))
    assert binarize(frame, lay)[-1] == 1


def test_many_regions_random_peaks_match_the_naive_reference():
    """500 random non-overlapping regions on several chromosomes, some adjacent; random peaks inside, across
    region edges, across two adjacent regions, and on chromosomes without regions."""
    rng = np.random.default_rng(7)
    regions = []
    for chrom in ("1", "2", "X", "10"):
        position = int(rng.integers(0, 5000))
        for _ in range(125):
            length = int(rng.integers(1, 8000))
            regions.append(Region(chrom, position, position + length))
            position += length + int(rng.choice([0, 0, rng.integers(1, 20000)]))  # a third of the regions touch the next
    order = rng.permutation(len(regions))
    lay = BinLayout.of([regions[i] for i in order], 1000)
    starts = np.array([r.start for r in regions])
    ends = np.array([r.end for r in regions])
    chroms = np.array([r.chrom for r in regions])
    n = 600
    pick = rng.integers(0, len(regions), n)
    anchor = np.where(rng.random(n) < 0.5, starts[pick], ends[pick])  # around a region's edge ...
    anchor = np.where(rng.random(n) < 0.3, rng.integers(starts[pick], ends[pick]), anchor)  # ... or inside it
    p_start = np.maximum(anchor - rng.integers(0, 3000, n), 0)
    p_end = p_start + rng.integers(1, 4000, n)
    frame = pd.DataFrame({"chrom": chroms[pick], "start": p_start, "end": p_end})
    regions_hit = ((chroms[None, :] == chroms[pick][:, None]) & (starts[None, :] < p_end[:, None]) & (ends[None, :] > p_start[:, None])).sum(axis=1)
    assert (regions_hit >= 2).sum() > 20 and (regions_hit == 0).sum() > 20  # peaks over two regions, and peaks in gaps
    foreign = pd.DataFrame({"chrom": rng.choice(["3", "Y", "MT", "Un_KI270742v1"], 200), "start": p_start[:200], "end": p_end[:200]})
    frame = pd.concat([frame, foreign], ignore_index=True).sample(frac=1, random_state=1)
    values = binarize(frame, lay)
    expected = naive_binarize(frame, lay)
    assert values.shape == (lay.n_bins,) and values.dtype == np.uint8
    assert np.array_equal(values, expected)
    assert 0.1 < expected.mean() < 0.9  # the random peaks open some bins and leave others closed
    assert not binarize(foreign, lay).any()


# ---------------------------------------------------------------- signal bins

def signal_peaks(*rows: tuple[str, int, int, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "signal"]).astype(
        {"chrom": str, "start": np.int64, "end": np.int64, "signal": np.float64})


def naive_strongest(frame: pd.DataFrame, layout: BinLayout) -> np.ndarray:
    """The definition, bin by bin: the largest signalValue among the peaks on the bin's chromosome that overlap
    [start, end), 0 where none does."""
    out = np.zeros(layout.n_bins)
    for i, (chrom, start, end) in enumerate(layout.bins().itertuples(index=False)):
        hits = frame[(frame["chrom"] == chrom) & (frame["start"] < end) & (frame["end"] > start)]
        out[i] = hits["signal"].max() if len(hits) else 0.0
    return out


def test_signal_is_the_strongest_overlapping_peak_log1p():
    frame = signal_peaks(("1", 100, 900, 5.0), ("1", 200, 2500, 30.0), ("1", 2400, 2600, 7.5), ("1", 2999, 3001, 2.0),
                         ("1", 5000, 5001, 0.0), ("2", 0, 10000, 99.0))
    values = bin_peaks(frame, LAYOUT, "signal")
    assert values.dtype == np.float32 and values.shape == (10,)
    expected = np.log1p([30.0, 30.0, 30.0, 2.0, 0, 0, 0, 0, 0, 0]).astype(np.float32)
    assert np.array_equal(values, expected)  # bin 2: 30 beats 7.5; bin 3 partly overlapped; bin 5's peak has signal 0
    # the same bins are open as with binary values, where the signal is above 0
    assert np.array_equal(values != 0, binarize(frame.drop(index=4), LAYOUT) == 1)


def test_signal_edges_are_half_open():
    frame = signal_peaks(("1", 500, 1000, 9.0), ("1", 1000, 1001, 4.0))  # the first ends exactly where bin 1 starts
    assert np.array_equal(bin_peaks(frame, LAYOUT, "signal")[:3], np.log1p([9.0, 4.0, 0.0]).astype(np.float32))


def test_no_peaks_all_zero_signal():
    values = bin_peaks(signal_peaks(), LAYOUT, "signal")
    assert values.dtype == np.float32 and values.shape == (10,) and not values.any()


def test_random_signal_peaks_match_the_brute_force_maximum():
    """Random overlapping peaks over several regions (adjacent ones, gaps, partial last bins), peaks across two regions
    and on chromosomes without regions: the per-bin maximum equals the brute-force one; binary is unchanged."""
    rng = np.random.default_rng(11)
    lay = layout_of("chr1:1-20500,chr1:20501-31000,chr2:3001-12345,chr3:1-999", 1000)
    n = 60
    chrom = rng.choice(["1", "1", "2", "3", "4"], n)
    start = rng.integers(0, 33_000, n)
    frame = signal_peaks(*zip(chrom, start, start + rng.integers(1, 2000, n), np.round(rng.uniform(2, 300, n), 3), strict=True))
    values = bin_peaks(frame, lay, "signal")
    strongest = naive_strongest(frame, lay)
    assert np.array_equal(values, np.log1p(strongest).astype(np.float32))
    bins = lay.bins()
    overlapping = np.array([((frame["chrom"] == c) & (frame["start"] < e) & (frame["end"] > b)).sum() for c, b, e in bins.itertuples(index=False)])
    assert 0.2 < (strongest > 0).mean() < 0.9 and (overlapping >= 2).sum() >= 5  # closed bins, and bins where the maximum matters
    assert np.array_equal(bin_peaks(frame, lay, "binary"), naive_binarize(frame, lay))


def test_unknown_bin_value_refused():
    with pytest.raises(InputError, match="--bin_value counts: choose one of binary, signal"):
        bin_peaks(peaks(), LAYOUT, "counts")


# ---------------------------------------------------------------- read_peaks

def write(path: Path, text: str | bytes, compress: bool = False) -> Path:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("header", ["", "track name=peaks\n", "# comment\nbrowser position chr1\n", "\ufefftrack name=x\n"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_peaks_formats(tmp_path, header, compress):
    body = header + "chr1\t100\t200\tp1\t0\t.\t5\t-1\t-1\t50\nchrM\t5\t10\n"
    frame = read_peaks(write(tmp_path / ("p.bed.gz" if compress else "p.bed"), body, compress))
    assert list(frame.columns) == ["chrom", "start", "end"]
    assert frame.values.tolist() == [["1", 100, 200], ["MT", 5, 10]]
    assert frame["start"].dtype == np.int64 and frame["end"].dtype == np.int64


@pytest.mark.parametrize("content", [
    "\ufeffchr1\t100\t200\nchr2\t5\t10\n",  # a UTF-8 byte-order mark
    "chr1\t100\t200\r\nchr2\t5\t10\r\n",  # Windows line ends
    "chr1\t100\t200\tp\t0\t.\t1\t-1\t-1\t5\r\nchr2\t5\t10\tq\t0\t.\t1\t-1\t-1\t5\r\n",
    "track a\nbrowser b\n#c\nchr1\t100\t200\n\nchr2\t5\t10\n",  # header lines and a blank line
    "chr1\t100\t200\n# a comment between peaks\nchr2\t5\t10\n",
])
def test_read_peaks_bom_crlf_headers(tmp_path, content):
    frame = read_peaks(write(tmp_path / "p.bed", content))
    assert frame.values.tolist() == [["1", 100, 200], ["2", 5, 10]]


def test_gzip_is_detected_by_content_not_name(tmp_path):
    gz_named_plain = read_peaks(write(tmp_path / "a.txt", "chr1\t1\t100\n", compress=True))
    plain_named_gz = read_peaks(write(tmp_path / "b.bed.gz", "chr1\t1\t100\n"))
    assert gz_named_plain.values.tolist() == plain_named_gz.values.tolist() == [["1", 1, 100]]


@pytest.mark.parametrize("content", ["", "track name=empty\n", "\n\n"])
def test_empty_peak_file(tmp_path, content):
    frame = read_peaks(write(tmp_path / "empty.bed", content))
    assert frame.empty and list(frame.columns) == ["chrom", "start", "end"]
    assert not binarize(frame, LAYOUT).any()


@pytest.mark.parametrize("content, message", [
    ("chr1\t1\t100\nchr1\t5\n", "line 2: fewer than 3 tab-separated columns"),
    ("chr1 1 100\n", "line 1: fewer than 3 tab-separated columns"),
    ("chr1\t1\t100\nchr1\t5\t99999999999999999999999\n", "line 2, column end: 99999999999999999999999 is larger than any chromosome"),
    ("chr1\t99999999999999999999999\t100\n", "line 1, column start"),
    ("track x\nchr1\t1.5\t100\n", "line 2, column start: '1.5' is not a whole non-negative number"),
    ("chr1\t1\tabc\n", "line 1, column end: 'abc'"),
    ("chr1\t-5\t100\n", "peak 1 (chr1:-5-100) has end <= start, a negative start"),
    ("chr1\t1\t100\nchr1\t500\t100\n", "peak 2 (chr1:500-100) has end <= start"),
    ("chr1\t100\t100\n", "peak 1 (chr1:100-100) has end <= start"),
    ("chr1\t1\t9999999999999\n", "larger than any chromosome"),
    ("chr1\t1\t100\n1\t200\t300\n", "mixes chromosome names with and without 'chr' (e.g. chr1 and 1)"),
])
def test_bad_peak_files_name_the_line(tmp_path, content, message):
    path = write(tmp_path / "bad.bed", content)
    with pytest.raises(InputError) as err:
        read_peaks(path)
    text = str(err.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


@pytest.mark.parametrize("header", ["", "track name=peaks\n"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_peaks_keeps_the_signal_when_asked(tmp_path, header, compress):
    body = header + "chr1\t100\t200\tp1\t0\t.\t5.25\t-1\t-1\t50\nchrM\t5\t10\tp2\t0\t.\t0\t-1\t-1\t3\n"
    path = write(tmp_path / ("p.narrowPeak.gz" if compress else "p.narrowPeak"), body, compress)
    frame = read_peaks(path, signal=True)
    assert list(frame.columns) == ["chrom", "start", "end", "signal"] and frame["signal"].dtype == np.float64
    assert frame.values.tolist() == [["1", 100, 200, 5.25], ["MT", 5, 10, 0.0]]
    assert list(read_peaks(path).columns) == ["chrom", "start", "end"]


@pytest.mark.parametrize("content, message", [
    ("chr1\t1\t100\nchr1\t200\t300\n", "BED3 (3 columns) peaks hold no signalValue: --bin_value signal needs narrowPeak, "
                                      "broadPeak or gappedPeak peaks"),
    ("track x\nchr1\t1\t100\tp\t0\t+\n", "BED6 (6 columns) peaks hold no signalValue"),
    ("chr1\t1\t100\tp\t0\t.\t4\t1\t1\t5\nchr1\t200\t300\n", "line 2: 3 columns, no signalValue"),
    ("chr1\t1\t100\tp\t0\t.\thigh\t1\t1\t5\n", "line 1, column 7 (signalValue): 'high' is not a number"),
    ("chr1\t1\t100\tp\t0\t.\t.\t1\t1\t5\n", "line 1, column 7 (signalValue): '.' is not a number"),
    ("chr1\t1\t100\tp\t0\t.\t3\t1\t1\t5\nchr1\t5\t9\tq\t0\t.\t-1\t1\t1\t5\n",
     "line 2, column 7 (signalValue): -1 is not a finite signal >= 0 (narrowPeak writes -1 where a peak has no signalValue)"),
    ("chr1\t1\t100\tp\t0\t.\tNA\t1\t1\t5\n", "line 1, column 7 (signalValue): 'NA' is not a number"),
    ("chr1\t1\t100\tp\t0\t.\tnan\t1\t1\t5\n", "line 1, column 7 (signalValue): nan is not a finite signal"),
    ("chr1\t1\t100\tp\t0\t.\tinf\t1\t1\t5\n", "line 1, column 7 (signalValue): inf is not a finite signal"),
])
def test_peaks_without_a_numeric_signal_refused_naming_the_line(tmp_path, content, message):
    path = write(tmp_path / "peaks.bed", content)
    with pytest.raises(InputError) as err:
        read_peaks(path, signal=True)
    text = str(err.value)
    assert text.startswith((f"{path} ", f"{path}: ")) and message in text and "\n" not in text
    read_peaks(path)  # binary bins read the same file


@pytest.mark.parametrize("line, name, signal_column", [
    ("chr1\t1\t100", "BED3", None),
    ("chr1\t1\t100\tpeak1\t0\t+", "BED6", None),
    ("chr1\t1\t100\tpeak1\t0\t+\t20\t80\t255,0,0", "BED9", None),  # thickStart, not a signal
    ("chr1\t1\t100\tpeak1\t0\t+\t1\t100\t0", "BED9", None),
    ("chr1\t1\t100\tpeak1\t0\t.\t4.5\t3.2\t1.1", "broadPeak", 6),
    ("chr1\t1\t100\tpeak1\t0\t.\t7\t-1\t-1\t-1", "narrowPeak", 6),
    ("chr1\t1\t100\tpeak1\t0\t+\t1\t100\t0\t2\t10,20\t0,80", "BED12", None),
    ("chr1\t1\t100\tpeak1\t0\t+\t1\t100\t0\t2\t10,20\t0,80\t6.5\t3\t2", "gappedPeak", 12),
    ("chr1\t1\t100\tpeak1\t0\t+\t8.5", "BED6+1", None),
])
def test_peak_format_detected_from_the_columns(tmp_path, line, name, signal_column):
    """The signal comes from the format's own column: a BED9's thickStart or a gappedPeak's blocks are never read as one."""
    path = write(tmp_path / "peaks.txt", f"track name=x\n{line}\n{line}\n")
    fmt = peak_format(path)
    assert (fmt.name, fmt.signal_column) == (name, signal_column)
    frame = read_peaks(path, activity=True)
    assert frame.attrs["format"] == name and ("signal" in frame) == (signal_column is not None)
    if signal_column is not None:
        assert frame["signal"].tolist() == [float(line.split("\t")[signal_column])] * 2
    else:
        with pytest.raises(InputError, match=re.escape(f"{name} ({len(line.split())} columns) peaks hold no signalValue")):
            read_peaks(path, signal=True)


def test_broadpeak_extension_decides_a_line_bed9_could_also_be(tmp_path):
    line = "chr1\t1\t100\tpeak1\t0\t+\t5\t50\t0\n"
    assert peak_format(write(tmp_path / "p.bed", line)).name == "BED9"
    assert peak_format(write(tmp_path / "p.broadPeak.gz", line, True)).name == "broadPeak"


def test_activity_is_the_strongest_signal_whatever_the_bin_value(tmp_path, caplog):
    narrow = write(tmp_path / "p.narrowPeak", "chr1\t999\t1001\tp\t0\t.\t12.5\t1\t1\t5\nchr1\t900\t950\tq\t0\t.\t40\t1\t1\t5\n")
    activity, kind = bin_activity(read_peaks(narrow, activity=True), LAYOUT)
    assert kind == "signal" and activity.dtype == np.float32 and activity[:3].tolist() == [40.0, 12.5, 0.0]
    bed = write(tmp_path / "p.bed", "chr1\t999\t1001\n")
    with caplog.at_level("WARNING"):
        activity, kind = bin_activity(read_peaks(bed, activity=True), LAYOUT)
    assert kind == "binary" and activity[:3].tolist() == [1.0, 1.0, 0.0]
    assert "BED3 (3 columns) peaks hold no signalValue; their activity is open/closed" in caplog.text
    # a narrowPeak with a line of no signal: binary bins and open/closed activity, the line named
    broken = write(tmp_path / "q.narrowPeak", "chr1\t999\t1001\tp\t0\t.\t12.5\t1\t1\t5\nchr1\t900\t950\tq\t0\t.\tNA\t1\t1\t5\n")
    caplog.clear()
    with caplog.at_level("WARNING"):
        activity, kind = bin_activity(read_peaks(broken, activity=True), LAYOUT)
    assert kind == "binary" and "line 2, column 7 (signalValue): 'NA' is not a number" in caplog.text


def test_non_utf8_peak_file_refused(tmp_path):
    path = write(tmp_path / "latin1.bed", b"chr1\t1\t100\tpe\xe9k\n")
    with pytest.raises(InputError, match="line 1 is not valid UTF-8"):
        read_peaks(path)


@pytest.mark.parametrize("content, gz, name", [
    (bytes.fromhex("ebf28987") + bytes(60), False, "a bigBed file, not BED/narrowPeak text (gz or plain); convert it with bigBedToBed"),
    (bytes.fromhex("26fc8f88") + bytes(60), False, "a bigWig file"),
    (b"BAM\x01" + bytes(60), True, "a BAM file"),  # BGZF is gzip: the magic follows the decompression
    (b"CRAM\x03\x00" + bytes(20), False, "a CRAM file"),
    (b"chr1\t1\t100\n\x00\x00\x01", False, "a binary file"),
])
def test_binary_files_are_named_by_their_format(tmp_path, content, gz, name):
    path = write(tmp_path / "peaks.bed", gzip.compress(content) if gz else content)
    with pytest.raises(InputError) as err:
        read_peaks(path)
    assert str(err.value).startswith(f"{path}: {name}") and "UTF-8" not in str(err.value)


def test_truncated_gzip_refused(tmp_path):
    data = gzip.compress(b"chr1\t1\t100\n" * 1000)
    path = write(tmp_path / "cut.bed.gz", data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_peaks(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_peaks(tmp_path / "none.bed")
    with pytest.raises(InputError, match="not a file"):
        read_peaks(tmp_path)


# ---------------------------------------------------------------- check_assembly

def assembly_error(frame: pd.DataFrame) -> str:
    with pytest.raises(InputError) as err:
        check_assembly("p.bed", frame, SIZES)
    message = str(err.value)
    assert message.startswith("p.bed: ") and "liftOver" in message and "\n" not in message
    return message


def test_hg19_peaks_past_grch38_chromosome_ends_refused():
    # hg19's chr1 is 249,250,621 bp, GRCh38's 248,956,422
    frame = peaks(("1", 100, 200), ("1", 249_000_000, 249_000_500), ("1", 249_100_000, 249_100_300), ("21", 48_000_000, 48_000_100))
    message = assembly_error(frame)
    assert "3 of 4 peaks end past their chromosome's end" in message and "1:249000000-249000500" in message
    assert "248,956,422 bp" in message


@pytest.mark.parametrize("contig", ["1_gl000191_random", "Un_gl000220", "6_apd_hap1", "17_ctg5_hap1", "4_ctg9_hap1"])
def test_hg19_contig_names_refused(contig):
    message = assembly_error(peaks(("1", 100, 200), (contig, 10, 500), (contig, 600, 700)))
    assert f"2 peaks on sequences of GRCh37 (hg19) (e.g. {contig})" in message


def test_both_reasons_in_one_line():
    message = assembly_error(peaks(("2", 242_193_529, 242_193_600), ("1_gl000191_random", 1, 5)))
    assert "1 of 2 peaks end past" in message and "1 peaks on sequences of GRCh37" in message


def test_grch38_contigs_and_peaks_at_the_last_base_accepted():
    frame = peaks(("1", 248_956_000, 248_956_422), ("Un_KI270742v1", 1, 100), ("EBV", 5, 50), ("1_KI270706v1_random", 1, 9),
                  ("6_GL000250v2_alt", 3, 9), ("MT", 0, 16_569))
    check_assembly("p.bed", frame, SIZES)
    check_assembly("p.bed", peaks(), SIZES)


def test_read_peaks_then_check_assembly_on_ucsc_names(tmp_path):
    frame = read_peaks(write(tmp_path / "hg19.bed", "chr1\t1\t100\nchr1_gl000191_random\t10\t500\nchr6_apd_hap1\t5\t80\n"))
    assert "2 peaks on sequences of GRCh37 (hg19)" in assembly_error(frame)
    check_assembly("p.bed", read_peaks(write(tmp_path / "hg38.bed", "chr1\t1\t100\nchrUn_KI270742v1\t10\t500\nchrEBV\t5\t80\n")), SIZES)


# ---------------------------------------------------------------- bin/binarize_peaks.py

@pytest.fixture
def layout_file(tmp_path) -> Path:
    path = tmp_path / "layout.tsv"
    LAYOUT.write(path)
    return path


def run_script(tmp_path, layout_file, peaks_path, sample="s", bin_value="binary"):
    out = tmp_path / "out" / f"{sample}.bins.npz"
    code = binarize_peaks.main(["--peaks", str(peaks_path), "--sample", sample, "--layout", str(layout_file),
                                "--chrom_sizes", str(CHROM_SIZES), "--genome", "GRCh38", "--bin_value", bin_value, "--output", str(out)])
    return code, out


def one_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    return err[0]


def test_script_writes_the_sample_bins(tmp_path, layout_file, capsys):
    path = write(tmp_path / "p.narrowPeak.gz", "track x\nchr1\t999\t1001\tp\t0\t.\nchr1\t9500\t20000\nchr2\t1\t100\n", compress=True)
    code, out = run_script(tmp_path, layout_file, path, sample="K562_rep1")
    assert code == 0
    bins = load_sample_bins(out, LAYOUT)
    assert bins.sample == "K562_rep1" and bins.layout == LAYOUT
    assert np.flatnonzero(bins.values).tolist() == [0, 1, 9]
    assert bins.activity_kind == "binary" and np.array_equal(bins.activity, bins.values.astype(np.float32))
    err = capsys.readouterr().err
    assert "3 BED6 peaks (2 on the regions' chromosomes, 1 elsewhere) -> 3 of 10 bins open (binary); activity: open/closed" in err


def test_empty_peak_file_gives_all_zero_bins(tmp_path, layout_file):
    code, out = run_script(tmp_path, layout_file, write(tmp_path / "empty.bed", ""))
    assert code == 0
    bins = load_sample_bins(out, LAYOUT)
    assert bins.values.shape == (10,) and bins.values.sum() == 0 and bins.sample == "s"


def test_peaks_only_on_other_chromosomes_warn(tmp_path, layout_file, capsys):
    code, out = run_script(tmp_path, layout_file, write(tmp_path / "chr2.bed", "chr2\t1\t100\nchr3\t5\t10\n"))
    assert code == 0 and load_sample_bins(out).values.sum() == 0
    assert "none of its 2 peaks is on a chromosome of the regions" in capsys.readouterr().err


@pytest.mark.parametrize("content, sample, message", [
    ("chr1\t500\t100\n", "s", "peak 1 (chr1:500-100) has end <= start"),
    ("chr1\t1\t100\nchr1\t5\n", "s", "line 2: fewer than 3"),
    ("chr1\t1\t100\nchr1\t5\t99999999999999999999999\n", "s", "line 2, column end: 99999999999999999999999 is larger than any chromosome"),
    ("chr1\t1\t100\nchr1\t249000000\t249000100\n", "s", "1 of 2 peaks end past their chromosome's end"),
    ("chr1\t1\t100\nchr1_gl000191_random\t1\t100\n", "s", "liftOver"),
    ("chr1\t1\t100\n", "NA", "--sample: 'NA' is read as a missing value"),
    ("chr1\t1\t100\n", "a;b", "--sample: 'a;b' may only contain"),
])
def test_script_bad_input_one_line_no_output(tmp_path, layout_file, capsys, content, sample, message):
    code, out = run_script(tmp_path, layout_file, write(tmp_path / "bad.bed", content), sample=sample)
    assert code == 2 and message in one_error(capsys)
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_script_writes_signal_bins(tmp_path, layout_file, capsys):
    path = write(tmp_path / "p.narrowPeak.gz", "chr1\t999\t1001\tp\t0\t.\t12.5\t1\t1\t5\nchr1\t900\t950\tq\t0\t.\t40\t1\t1\t5\n"
                                               "chr2\t1\t100\tr\t0\t.\t3\t1\t1\t5\n", compress=True)
    code, out = run_script(tmp_path, layout_file, path, bin_value="signal")
    assert code == 0
    bins = load_sample_bins(out, LAYOUT, "signal")
    assert bins.bin_value == "signal" and bins.values.dtype == np.float32
    assert np.array_equal(bins.values, np.log1p([40.0, 12.5, 0, 0, 0, 0, 0, 0, 0, 0]).astype(np.float32))
    assert bins.activity_kind == "signal" and bins.activity.tolist() == [40.0, 12.5, 0, 0, 0, 0, 0, 0, 0, 0]
    # binary bins of the same peaks keep the signal as their activity
    code, out = run_script(tmp_path, layout_file, path, bin_value="binary")
    bins = load_sample_bins(out, LAYOUT, "binary")
    assert code == 0 and bins.values.tolist()[:3] == [1, 1, 0] and bins.activity.tolist()[:3] == [40.0, 12.5, 0.0]
    assert "-> 2 of 10 bins open (signal)" in capsys.readouterr().err


def test_script_refuses_bed3_peaks_with_signal_bins(tmp_path, layout_file, capsys):
    """--bin_value signal with BED3 peaks: one line naming the file and what to do, nothing written; binary takes them."""
    path = write(tmp_path / "K562.bed", "chr1\t999\t1001\nchr1\t5000\t6000\n")
    code, out = run_script(tmp_path, layout_file, path, sample="K562", bin_value="signal")
    message = one_error(capsys)
    assert code == 2 and message.startswith(f"ERROR: sample K562: {path}: BED3 (3 columns) peaks hold no signalValue")
    assert "give those, or bin these with --bin_value binary" in message
    assert not out.exists()
    code, out = run_script(tmp_path, layout_file, path, sample="K562", bin_value="binary")
    assert code == 0 and load_sample_bins(out, LAYOUT, "binary").values.tolist() == [1, 1, 0, 0, 0, 1, 0, 0, 0, 0]


def test_script_refuses_a_damaged_layout(tmp_path, capsys):
    layout_file = tmp_path / "layout.tsv"
    layout_file.write_text("chrom\tstart\n1\t0\n")
    code, out = run_script(tmp_path, layout_file, write(tmp_path / "p.bed", "chr1\t1\t100\n"))
    assert code == 2 and "not a bin layout table" in one_error(capsys) and not out.exists()
