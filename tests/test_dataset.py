"""atac2expr.dataset: bit-packed sample bins and the dataset file round-trip exactly; foreign files are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planted import layout_of, make_planted

from atac2expr.cli import InputError
from atac2expr.dataset import (
    Dataset,
    SampleBins,
    load_dataset,
    load_sample_bins,
    pack_bits,
    save_dataset,
    save_sample_bins,
    unpack_bits,
)
from atac2expr.formats import GENES


@pytest.mark.parametrize("n_bins", [1, 7, 8, 9, 13, 1001])
def test_pack_unpack(n_bins):
    values = (np.random.default_rng(n_bins).random((3, n_bins)) < 0.5).astype(np.uint8)
    bits = pack_bits(values)
    assert bits.shape == (3, -(-n_bins // 8)) and bits.dtype == np.uint8
    assert np.array_equal(unpack_bits(bits, n_bins), values)
    assert np.array_equal(pack_bits(values * 7), bits)  # any non-zero value is open


@pytest.mark.parametrize("region, bin_size", [("chr1:1-13000", 1000), ("chr1:1-2500,chr2:1-1", 1000), ("chr1:1-8000", 1000), ("chrY:1-100", 7)])
def test_sample_bins_round_trip(tmp_path, region, bin_size):
    layout = layout_of(region, bin_size)
    values = (np.random.default_rng(0).random(layout.n_bins) < 0.3).astype(np.uint8)
    values[-1] = 1  # the last (partial) bin survives packing
    save_sample_bins(tmp_path / "s.bins.npz", SampleBins("K562_rep1", values, layout))
    back = load_sample_bins(tmp_path / "s.bins.npz", layout)
    assert back.sample == "K562_rep1" and back.layout == layout
    assert back.values.dtype == np.uint8 and np.array_equal(back.values, values)
    assert np.array_equal(load_sample_bins(tmp_path / "s.bins.npz").values, values)  # without an expected layout
    with np.load(tmp_path / "s.bins.npz", allow_pickle=False) as npz:  # no pickled objects
        assert npz["open_bits"].nbytes == -(-layout.n_bins // 8)


def signal_values(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.3, np.log1p(rng.uniform(2, 300, n)), 0).astype(np.float32)


@pytest.mark.parametrize("region, bin_size", [("chr1:1-13000", 1000), ("chr1:1-2500,chr2:1-1", 1000), ("chrY:1-100", 7)])
def test_signal_sample_bins_round_trip(tmp_path, region, bin_size):
    layout = layout_of(region, bin_size)
    values = signal_values(layout.n_bins)
    values[0], values[-1] = 0.25, 1.5  # a value below 1 is stored as it is (packing compares it with 0, not as uint8)
    save_sample_bins(tmp_path / "s.bins.npz", SampleBins("HSC", values, layout, "signal"))
    back = load_sample_bins(tmp_path / "s.bins.npz", layout, "signal")
    assert back.bin_value == "signal" and back.values.dtype == np.float32 and np.array_equal(back.values, values)
    with np.load(tmp_path / "s.bins.npz", allow_pickle=False) as npz:  # the mask bit-packed, only the nonzero values stored
        assert str(npz["bin_value"]) == "signal" and npz["open_bits"].nbytes == -(-layout.n_bins // 8)
        assert npz["signal"].dtype == np.float32 and len(npz["signal"]) == np.count_nonzero(values)


@pytest.mark.parametrize("stored, expected", [("binary", "signal"), ("signal", "binary")])
def test_sample_bins_of_the_other_bin_value_refused_in_one_line(tmp_path, stored, expected):
    layout = layout_of("chr1:1-10000")
    values = np.ones(10, np.uint8) if stored == "binary" else signal_values(10)
    save_sample_bins(tmp_path / "s.bins.npz", SampleBins("s", values, layout, stored))
    with pytest.raises(InputError) as err:
        load_sample_bins(tmp_path / "s.bins.npz", layout, expected)
    assert str(err.value) == (f"{tmp_path / 's.bins.npz'}: binned with --bin_value {stored}, expected --bin_value {expected}; "
                              f"bin the peaks again with --bin_value {expected}")


def test_bins_of_the_wrong_kind_in_memory_refused():
    layout = layout_of("chr1:1-10000")
    with pytest.raises(ValueError, match="signal bins must be float32, not uint8"):
        SampleBins("s", np.ones(10, np.uint8), layout, "signal")
    with pytest.raises(ValueError, match="binary bins must be uint8, not float32"):
        SampleBins("s", np.ones(10, np.float32), layout)
    with pytest.raises(ValueError, match="bin value 'counts'"):
        SampleBins("s", np.ones(10, np.uint8), layout, "counts")


def test_files_without_a_bin_value_hold_binary_bins(tmp_path):
    """Files written before bins could hold a signal have no bin_value array: they are read as binary."""
    layout = layout_of("chr1:1-10000")
    save_sample_bins(tmp_path / "s.npz", SampleBins("s", np.ones(10, np.uint8), layout))
    with np.load(tmp_path / "s.npz") as npz:
        np.savez(tmp_path / "old.npz", **{k: npz[k] for k in npz.files if k != "bin_value"})
    assert load_sample_bins(tmp_path / "old.npz", layout, "binary").values.tolist() == [1] * 10
    ds = make_planted(n_samples=3, n_genes=2, region="chr1:1-5000")
    save_dataset(ds, tmp_path / "d.npz")
    with np.load(tmp_path / "d.npz") as npz:
        np.savez(tmp_path / "old_dataset.npz", **{k: npz[k] for k in npz.files if k != "bin_value"})
    back = load_dataset(tmp_path / "old_dataset.npz")
    assert back.bin_value == "binary" and np.array_equal(back.X, ds.X)


@pytest.mark.parametrize("change, message", [
    ({"bin_value": np.array("counts")}, "bin_value 'counts' is not one of binary, signal"),
    ({"signal": np.zeros(2, np.float32)}, "signal holds 2 float32 values for 3 nonzero bins"),
    ({"signal": np.zeros(3, np.float64)}, "signal holds 3 float64 values for 3 nonzero bins"),
])
def test_damaged_signal_bins_refused(tmp_path, change, message):
    layout = layout_of("chr1:1-10000")
    values = np.zeros(10, np.float32)
    values[[1, 4, 9]] = [0.5, 2.0, 3.25]
    save_sample_bins(tmp_path / "s.npz", SampleBins("s", values, layout, "signal"))
    with np.load(tmp_path / "s.npz") as npz:
        np.savez(tmp_path / "bad.npz", **{**{k: npz[k] for k in npz.files}, **change})
    with pytest.raises(InputError, match="not a sample bins file written by binarize_peaks.py") as err:
        load_sample_bins(tmp_path / "bad.npz")
    assert message in str(err.value)


def test_sample_bins_of_the_wrong_length_not_written(tmp_path):
    with pytest.raises(ValueError, match="9 values for 10 bins"):
        save_sample_bins(tmp_path / "s.npz", SampleBins("s", np.zeros(9, np.uint8), layout_of("chr1:1-10000")))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("other", [("chr1:1-10001", 1000), ("chr1:1-10000", 500), ("chr2:1-10000", 1000), ("chr1:2-10001", 1000)])
def test_sample_bins_of_another_layout_refused_in_one_line(tmp_path, other):
    layout = layout_of("chr1:1-10000")
    save_sample_bins(tmp_path / "s.bins.npz", SampleBins("s", np.ones(10, np.uint8), layout))
    with pytest.raises(InputError) as err:
        load_sample_bins(tmp_path / "s.bins.npz", layout_of(*other))
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "s.bins.npz"))
    assert "binned on 1:1-10000 in 10 bins of 1,000 bp, expected" in message and "binarise the peaks again" in message


def test_sample_bins_count_must_match_the_layout(tmp_path):
    layout = layout_of("chr1:1-10000")
    save_sample_bins(tmp_path / "s.npz", SampleBins("s", np.ones(10, np.uint8), layout))
    with np.load(tmp_path / "s.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["n_bins"] = np.array(16)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match="16 bins, its layout has 10"):
        load_sample_bins(tmp_path / "bad.npz")


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04broken", b""])
def test_not_an_npz_refused(tmp_path, content):
    path = tmp_path / "x.bins.npz"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a sample bins file written by binarize_peaks.py") as err:
        load_sample_bins(path)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="not a dataset .npz written by build_matrix.py"):
        load_dataset(path)


def test_an_npz_of_something_else_refused(tmp_path):
    np.savez(tmp_path / "other.npz", values=np.zeros(3))
    with pytest.raises(InputError, match="not a sample bins file .*region_chrom"):
        load_sample_bins(tmp_path / "other.npz")
    with pytest.raises(InputError, match="not a dataset .npz written by build_matrix.py"):
        load_dataset(tmp_path / "other.npz")


def test_pickled_objects_refused(tmp_path):
    np.savez(tmp_path / "pickled.npz", sample=np.array([object()], dtype=object))
    with pytest.raises(InputError, match="not a sample bins file"):
        load_sample_bins(tmp_path / "pickled.npz")


def test_dataset_round_trip(tmp_path):
    ds = make_planted(n_samples=5, n_genes=4, region="chr1:1-13500,chr2:1001-3000", constant_genes=1)
    ds.Y[0, 1] = 1 / 3  # full float64 precision survives
    save_dataset(ds, tmp_path / "dataset.npz")
    back = load_dataset(tmp_path / "dataset.npz")
    assert back.layout == ds.layout and back.bin_size == 1000
    assert back.X.dtype == np.uint8 and np.array_equal(back.X, ds.X)
    assert back.Y.dtype == np.float64 and np.array_equal(back.Y, ds.Y)
    assert back.samples.tolist() == ds.samples.tolist()
    assert list(back.genes.columns) == GENES.columns
    pd.testing.assert_frame_equal(back.genes, ds.genes.astype({"start": np.int64, "end": np.int64, "tss": np.int64}), check_dtype=False)
    assert back.genes["tss"].dtype == np.int64 and back.genes["gene_biotype"].tolist() == ["protein_coding"] * 4
    assert back.bins.values.tolist() == ds.layout.bins().values.tolist()
    assert back.bins["end"].iloc[13] == 13_500  # chr1's last bin is 500 bp
    assert back.region == "1:1-13500,2:1001-3000 in 16 bins of 1,000 bp"


def test_signal_dataset_round_trip(tmp_path):
    ds = make_planted(n_samples=5, n_genes=4, region="chr1:1-13500,chr2:1001-3000", bin_value="signal")
    assert ds.X.dtype == np.float32 and ds.bin_value == "signal" and 0.2 < (ds.X != 0).mean() < 0.6
    save_dataset(ds, tmp_path / "dataset.npz")
    back = load_dataset(tmp_path / "dataset.npz")
    assert back.bin_value == "signal" and back.X.dtype == np.float32 and np.array_equal(back.X, ds.X)
    assert np.array_equal(back.Y, ds.Y) and back.layout == ds.layout
    with np.load(tmp_path / "dataset.npz") as npz:
        assert str(npz["bin_value"]) == "signal" and len(npz["X_signal"]) == np.count_nonzero(ds.X)
    binary = make_planted(n_samples=5, n_genes=4, region="chr1:1-13500,chr2:1001-3000")
    save_dataset(binary, tmp_path / "binary.npz")
    with np.load(tmp_path / "binary.npz") as npz:
        assert str(npz["bin_value"]) == "binary" and "X_signal" not in npz.files


def test_dataset_shape_checks():
    ds = make_planted(n_samples=6, n_genes=3, region="chr1:1-5000")
    with pytest.raises(ValueError, match="inconsistent dataset shapes"):
        Dataset(ds.X[:, :4], ds.Y, ds.samples, ds.layout, ds.genes)
    with pytest.raises(ValueError, match="inconsistent dataset shapes"):
        Dataset(ds.X, ds.Y[:, :2], ds.samples, ds.layout, ds.genes)
    with pytest.raises(ValueError, match="inconsistent dataset shapes"):
        Dataset(ds.X, ds.Y, ds.samples[:5], ds.layout, ds.genes)


def test_damaged_dataset_refused(tmp_path):
    ds = make_planted(n_samples=3, n_genes=2, region="chr1:1-5000")
    save_dataset(ds, tmp_path / "dataset.npz")
    with np.load(tmp_path / "dataset.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    np.savez(tmp_path / "no_genes.npz", **{k: v for k, v in arrays.items() if k != "gene_tss"})
    with pytest.raises(InputError, match="not a dataset .npz written by build_matrix.py .*gene_tss"):
        load_dataset(tmp_path / "no_genes.npz")
    np.savez(tmp_path / "short_y.npz", **{**arrays, "Y": arrays["Y"][:2]})
    with pytest.raises(InputError, match="inconsistent dataset shapes"):
        load_dataset(tmp_path / "short_y.npz")


def test_activity_round_trips_beside_binary_bins_and_is_read_only_when_asked_for(tmp_path):
    """Binary bins keep each sample's peak signal as its activity; the dataset reads it from the file on first use."""
    ds = make_planted(n_samples=4, n_genes=2, region="chr1:1-9000")
    rng = np.random.default_rng(3)
    activity = (ds.X * rng.uniform(1, 50, ds.X.shape)).astype(np.float32)
    kinds = np.array(["signal", "signal", "binary", "signal"])
    activity[2] = ds.X[2]
    with_activity = Dataset(ds.X, ds.Y, ds.samples, ds.layout, ds.genes, "binary", kinds, activity)
    save_dataset(with_activity, tmp_path / "dataset.npz")
    back = load_dataset(tmp_path / "dataset.npz")
    assert not isinstance(back._activity, np.ndarray)  # not read yet
    assert back.activity_kind.tolist() == kinds.tolist() and np.array_equal(back.activity, activity)
    assert back.activity.dtype == np.float32 and np.array_equal(back.X, ds.X)

    one = SampleBins("s", ds.X[0], ds.layout, "binary", activity[0], "signal")
    save_sample_bins(tmp_path / "s.bins.npz", one)
    read = load_sample_bins(tmp_path / "s.bins.npz", ds.layout, "binary")
    assert read.activity_kind == "signal" and np.array_equal(read.activity, activity[0])


def test_files_without_activity_have_what_their_bins_imply(tmp_path):
    ds = make_planted(n_samples=3, n_genes=2, region="chr1:1-9000", bin_value="signal")
    save_dataset(ds, tmp_path / "dataset.npz")
    with np.load(tmp_path / "dataset.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if k not in ("A_bits", "A_values", "activity_kind")}
    np.savez(tmp_path / "old.npz", **arrays)
    back = load_dataset(tmp_path / "old.npz")
    assert back.activity_kind.tolist() == ["signal"] * 3
    np.testing.assert_allclose(back.activity, np.expm1(ds.X.astype(np.float64)), rtol=1e-6)
    binary = make_planted(n_samples=3, n_genes=2, region="chr1:1-9000")
    assert np.array_equal(binary.activity, binary.X.astype(np.float32)) and binary.activity_kind.tolist() == ["binary"] * 3


def test_damaged_activity_refused_in_one_line(tmp_path):
    ds = make_planted(n_samples=3, n_genes=2, region="chr1:1-9000")
    save_dataset(ds, tmp_path / "dataset.npz")
    with np.load(tmp_path / "dataset.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    np.savez(tmp_path / "short.npz", **{**arrays, "A_values": arrays["A_values"][:-1]})
    with pytest.raises(InputError, match="its activity: A_values holds"):
        _ = load_dataset(tmp_path / "short.npz").activity
    np.savez(tmp_path / "kind.npz", **{**arrays, "activity_kind": np.array(["signal", "bright", "binary"])})
    with pytest.raises(InputError, match="activity kind 'bright' is not one of signal, binary"):
        load_dataset(tmp_path / "kind.npz")
