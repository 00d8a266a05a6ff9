"""bin/encode_samplesheet.py and atac2expr.encode against the fake ENCODE portal (tests/fake_encode.py)."""

from __future__ import annotations

import csv
import hashlib
import logging
import re

import pytest
from fake_encode import FakeEncodeData, FakeServer, data_from_samplesheet

from atac2expr.cli import InputError
from atac2expr.commands import encode_samplesheet
from atac2expr.download import RetryPolicy
from atac2expr.encode import (
    EncodeClient,
    Options,
    replicate_lanes,
    select_samples,
    split_list,
    unusable_reason,
)
from atac2expr.formats import DOWNLOAD_COLUMNS, ENCODE_PROVENANCE_COLUMNS, encode_samplesheet_columns
from atac2expr.samples import read_samplesheet

FAST = ["--backoff", "0.01", "--max_wait", "0.05", "--min_interval", "0"]
# the pipeline's defaults (nextflow_schema.json: --encode_match_by, --encode_rna_assay_titles), which the script requires
RNA_TITLES = "total RNA-seq,polyA plus RNA-seq"
OPTIONS = Options(match_by="biosample", rna_assay_titles=split_list(RNA_TITLES))


def _content(tag: str) -> bytes:
    return f"@{tag}\nACGT\n+\nIIII\n".encode() * 3


def build_world() -> tuple[FakeEncodeData, dict]:
    """A small portal: see the comments for what each biosample tests."""
    d = FakeEncodeData()
    ids: dict = {}

    # K562: paired-end RNA, rep1 with two lanes, rep2 with one; peaks: the preferred_default set is chosen,
    # hg19/archived/restricted peaks and archived/restricted/index FASTQs are skipped; a small RNA-seq
    # experiment (other assay title) is ignored.
    k562 = d.biosample_type("K562", "cell line", "EFO:0002067")
    atac = d.experiment("ATAC-seq", k562, [1, 2])
    ids["k562_peaks"] = d.peaks(atac, b"chr1\t100\t200\n", output_type="replicated peaks", preferred_default=True)
    d.peaks(atac, b"chr1\t1\t2\n", output_type="pseudoreplicated peaks")
    d.peaks(atac, b"chr1\t3\t4\n", output_type="replicated peaks", assembly="hg19", status="archived")
    d.peaks(atac, b"chr1\t5\t6\n", output_type="replicated peaks", restricted=True, preferred_default=True)
    rna = d.experiment("total RNA-seq", k562, [1, 2])
    ids["k562_rna"] = d.objects[rna]["accession"]
    ids["k562_r1_l2"] = d.fastq_pair(rna, _content("r1l2a"), _content("r1l2b"), 1, tech=2, read_length=101)
    ids["k562_r1_l1"] = d.fastq_pair(rna, _content("r1l1a"), _content("r1l1b"), 1, tech=1, read_length=100)
    ids["k562_r2"] = d.fastq_pair(rna, _content("r2a"), _content("r2b"), 2, read_length=100)
    d.fastq(rna, _content("old"), 2, status="archived")
    d.fastq(rna, _content("secret"), 2, restricted=True)
    d.fastq(rna, _content("index"), 2, output_type="index reads")
    small = d.experiment("small RNA-seq", k562, [1])
    d.fastq(small, _content("small"), 1)

    # HepG2: no preferred_default -> pseudoreplicated peaks; single-ended RNA (polyA plus) with two lanes;
    # a perturbed RNA-seq experiment is not used.
    hepg2 = d.biosample_type("HepG2", "cell line")
    atac = d.experiment("ATAC-seq", hepg2, [1])
    d.peaks(atac, b"chr2\t1\t2\n", output_type="replicated peaks")
    ids["hepg2_peaks"] = d.peaks(atac, b"chr2\t10\t20\n", output_type="pseudoreplicated peaks")
    rna = d.experiment("polyA plus RNA-seq", hepg2, [1])
    ids["hepg2_lanes"] = [d.fastq(rna, _content("s1"), 1, tech=1, read_length=36), d.fastq(rna, _content("s2"), 1, tech=2, read_length=36)]
    perturbed = d.experiment("total RNA-seq", hepg2, [1], perturbed=True)
    d.fastq(perturbed, _content("kd"), 1)
    # a CRISPR knock-down whose experiment is not marked perturbed: the client reads its biosamples and leaves it out
    knockdown = d.experiment("total RNA-seq", hepg2, [2], biosample_properties={
        "perturbed": True, "genetic_modifications": ["/genetic-modifications/ENCGM000AAA/"]})
    ids["hepg2_knockdown"] = knockdown
    d.fastq(knockdown, _content("crispr"), 2)

    # liver: ATAC-seq only; GM12878: RNA-seq only -> both dropped and counted.
    liver = d.biosample_type("liver", "tissue", "UBERON:0002107")
    d.peaks(d.experiment("ATAC-seq", liver, [1]), b"chr3\t1\t2\n")
    gm = d.biosample_type("GM12878", "cell line")
    d.fastq(d.experiment("total RNA-seq", gm, [1]), _content("gm"), 1)

    # A549: both assays, but only archived hg19 peaks -> dropped for lack of files.
    a549 = d.biosample_type("A549", "cell line")
    d.peaks(d.experiment("ATAC-seq", a549, [1]), b"chr4\t1\t2\n", assembly="hg19", status="archived")
    d.fastq(d.experiment("total RNA-seq", a549, [1]), _content("a549"), 1)

    # CD4-positive, alpha-beta T cell: one ATAC donor, RNA replicates from two donors (donor matching),
    # a name with characters that are not allowed in sample ids.
    tcell = d.biosample_type("CD4-positive, alpha-beta T cell", "primary cell")
    donor_a, donor_b = d.donor("ENCDO000AAA"), d.donor("ENCDO000BBB")
    d.peaks(d.experiment("ATAC-seq", tcell, {1: donor_a}), b"chr5\t1\t2\n")
    rna = d.experiment("total RNA-seq", tcell, {1: donor_a, 2: donor_b})
    d.fastq(rna, _content("ta"), 1)
    d.fastq(rna, _content("tb"), 2)
    return d, ids


@pytest.fixture(scope="module")
def portal():
    data, ids = build_world()
    with FakeServer(data) as server:
        yield server, data, ids


@pytest.fixture
def server(portal):
    server = portal[0]
    server.requests.clear()
    server.faults.clear()
    return server


def _read(path, delimiter=","):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        return reader.fieldnames, list(reader)


def _run(server, tmp_path, *args):
    """The script with the pipeline's --match_by and --rna_assay_titles unless args give their own."""
    sheet, prov = tmp_path / "samplesheet.csv", tmp_path / "provenance.tsv"
    required = [*(["--match_by", "biosample"] if "--match_by" not in args else []),
                *(["--rna_assay_titles", RNA_TITLES] if "--rna_assay_titles" not in args else [])]
    code = encode_samplesheet.main(["--encode_url", server.url, "--output", str(sheet), "--provenance", str(prov), *FAST, *required, *args])
    return code, sheet, prov


def test_samplesheet_lanes_replicates_paired_and_single(portal, server, tmp_path):
    _, data, ids = portal
    code, sheet, prov = _run(server, tmp_path)
    assert code == 0
    columns, rows = _read(sheet)
    assert columns == encode_samplesheet_columns()
    by_id = {r["sample"]: r for r in rows}
    assert sorted(by_id) == ["CD4-positive_alpha-beta_T_cell_rep1", "CD4-positive_alpha-beta_T_cell_rep2", "HepG2_rep1", "K562_rep1", "K562_rep2"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", s) for s in by_id)

    obj = data.objects
    url = lambda fid: server.url + obj[fid]["href"]  # noqa: E731
    k1 = by_id["K562_rep1"]  # two lanes, technical replicate order, R1/R2 aligned by paired_with
    (l1_r1, l1_r2), (l2_r1, l2_r2) = ids["k562_r1_l1"], ids["k562_r1_l2"]
    assert k1["fastq_1"] == f"{url(l1_r1)};{url(l2_r1)}"
    assert k1["fastq_2"] == f"{url(l1_r2)};{url(l2_r2)}"
    assert k1["fastq_1_md5"] == f"{obj[l1_r1]['md5sum']};{obj[l2_r1]['md5sum']}"
    assert k1["fastq_2_size"] == f"{obj[l1_r2]['file_size']};{obj[l2_r2]['file_size']}"
    assert k1["run_type"] == "paired-ended" and k1["read_length"] == "100;101"
    assert k1["peaks"] == url(ids["k562_peaks"]) and k1["peaks_md5"] == hashlib.md5(b"chr1\t100\t200\n").hexdigest()
    assert k1["peaks_size"] == str(len(b"chr1\t100\t200\n"))
    k2 = by_id["K562_rep2"]  # archived, restricted and index-read FASTQs skipped
    assert k2["fastq_1"] == url(ids["k562_r2"][0]) and k2["fastq_2"] == url(ids["k562_r2"][1])

    h = by_id["HepG2_rep1"]  # single-ended, two lanes, no fastq_2
    assert h["fastq_1"] == ";".join(url(f) for f in ids["hepg2_lanes"])
    assert h["fastq_2"] == "" and h["fastq_2_md5"] == "" and h["run_type"] == "single-ended" and h["read_length"] == "36"
    assert h["peaks"] == url(ids["hepg2_peaks"])  # no preferred_default -> pseudoreplicated peaks

    columns, prov_rows = _read(prov, "\t")
    assert columns == ENCODE_PROVENANCE_COLUMNS
    p = {r["sample"]: r for r in prov_rows}["K562_rep1"]
    assert p["biosample_term_name"] == "K562" and p["biosample_classification"] == "cell line" and p["biosample_term_id"] == "EFO:0002067"
    assert p["rna_experiment"] == ids["k562_rna"] and p["rna_assay_title"] == "total RNA-seq" and p["biological_replicate"] == "1"
    assert p["peaks_file"] == obj[ids["k562_peaks"]]["accession"] and p["peaks_output_type"] == "replicated peaks"
    assert p["fastq_1_files"] == f"{obj[l1_r1]['accession']};{obj[l2_r1]['accession']}"
    assert p["rna_donor"].startswith("ENCDO") and p["atac_donors"].startswith("ENCDO")

    # what was asked of the API
    searches = [r.query for r in server.requests_to("/search/")]
    assert all(q["limit"] == ["all"] and q["frame"] == ["object"] and q["format"] == ["json"] for q in searches)
    experiments = [q for q in searches if q["type"] == ["Experiment"]]
    assert all(q["perturbed"] == ["false"] and q["status"] == ["released"] for q in experiments)
    assert sorted(q["assay_title"][0] for q in experiments if len(q["assay_title"]) == 1) == ["ATAC-seq"]
    assert [q["assay_title"] for q in experiments if len(q["assay_title"]) > 1] == [["total RNA-seq", "polyA plus RNA-seq"]]
    assert not server.requests_to("/@@download/")  # nothing downloaded


def test_perturbed_biosamples_left_out_by_the_client(portal, server, caplog):
    """The search asks for perturbed=false, but the client itself also reads each biosample: a knock-down whose
    experiment does not say `perturbed` is left out, and the log says why."""
    _, d, ids = portal
    client = EncodeClient(server.url, policy=RetryPolicy(1, 0.01, 0.05), min_interval=0)
    with caplog.at_level(logging.INFO):
        selection = select_samples(client, OPTIONS)
    knockdown = d.objects[ids["hepg2_knockdown"]]["accession"]
    assert all(s.rna.accession != knockdown for s in selection.samples)
    assert f"total RNA-seq {knockdown} not used: perturbed biosample(s)" in caplog.text
    assert {s.id for s in selection.samples if s.term_name == "HepG2"} == {"HepG2_rep1"}


def test_single_assay_biosamples_dropped_and_counted(portal, server, caplog):
    client = EncodeClient(server.url, policy=RetryPolicy(1, 0.01, 0.05), min_interval=0)
    with caplog.at_level(logging.INFO):
        selection = select_samples(client, OPTIONS)
    assert selection.atac_only == 1  # liver
    assert selection.rna_only == 1  # GM12878
    assert selection.without_files == 1  # A549 (only archived hg19 peaks)
    assert selection.matched == 3
    assert "dropped 1 biosamples with ATAC-seq only and 1 with RNA-seq only" in caplog.text
    assert "A549 (cell line): dropped, no usable ATAC-seq peaks" in caplog.text


def test_zero_hits_gives_empty_samplesheet_and_warning(server, tmp_path, capsys):
    code, sheet, prov = _run(server, tmp_path, "--biosamples", "no such cell")
    assert code == 0
    assert sheet.read_text() == ",".join(encode_samplesheet_columns()) + "\n"
    assert prov.read_text() == "\t".join(ENCODE_PROVENANCE_COLUMNS) + "\n"
    assert "WARNING" in (err := capsys.readouterr().err) and "has only its header" in err
    assert any(r.path == "/search/" for r in server.requests)  # the 404 "No results found" was read as none


def test_filters_and_max_biosamples(server, tmp_path):
    code, sheet, _ = _run(server, tmp_path, "--max_biosamples", "1")
    assert code == 0 and [r["sample"] for r in _read(sheet)[1]] == ["CD4-positive_alpha-beta_T_cell_rep1", "CD4-positive_alpha-beta_T_cell_rep2"]
    code, sheet, _ = _run(server, tmp_path, "--classifications", "cell line", "--rna_assay_titles", "polyA plus RNA-seq")
    assert [r["sample"] for r in _read(sheet)[1]] == ["HepG2_rep1"]
    code, sheet, _ = _run(server, tmp_path, "--biosamples", "CD4-positive, alpha-beta T cell,K562", "--peak_output_type", "pseudoreplicated peaks")
    rows = _read(sheet)[1]
    assert [r["sample"] for r in rows] == ["CD4-positive_alpha-beta_T_cell_rep1", "CD4-positive_alpha-beta_T_cell_rep2", "K562_rep1", "K562_rep2"]
    assert rows[2]["peaks_md5"] == hashlib.md5(b"chr1\t1\t2\n").hexdigest()


def test_match_by_donor(server, tmp_path):
    code, sheet, prov = _run(server, tmp_path, "--match_by", "donor")
    assert code == 0
    samples = [r["sample"] for r in _read(sheet)[1]]
    # only the T cell RNA replicate from the ATAC-seq donor; elsewhere every fake experiment has a donor of
    # its own, so no other pair matches by donor.
    assert samples == ["CD4-positive_alpha-beta_T_cell_ENCDO000AAA_rep1"]
    row = _read(prov, "\t")[1][0]
    assert row["rna_donor"] == "ENCDO000AAA" and row["atac_donors"] == "ENCDO000AAA" and row["match_by"] == "donor"


def test_api_429_and_503_are_retried(server, tmp_path):
    server.fault("/search/", "status", code=429, times=1, retry_after="0")
    server.fault("/search/", "status", code=503, times=1)
    code, sheet, _ = _run(server, tmp_path, "--biosamples", "HepG2")
    assert code == 0 and [r["sample"] for r in _read(sheet)[1]] == ["HepG2_rep1"]


def test_unreachable_portal_is_one_line_error(tmp_path, capsys):
    code = encode_samplesheet.main(["--encode_url", "http://127.0.0.1:9", "--output", str(tmp_path / "s.csv"),
                                    "--provenance", str(tmp_path / "p.tsv"), "--retries", "1", "--match_by", "biosample",
                                    "--rna_assay_titles", RNA_TITLES, *FAST])
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert len(err) == 1 and "127.0.0.1:9" in err[0]
    assert not (tmp_path / "s.csv").exists()


def test_href_leaving_the_folder_makes_a_file_unusable():
    good = {"status": "released", "href": "/files/ENCFF001AAA/@@download/ENCFF001AAA.fastq.gz", "md5sum": "0" * 32, "file_size": 1}
    assert unusable_reason(good) is None
    for href in ["/files/ENCFF001AAA/@@download/..", "/files/ENCFF001AAA/@@download/..%2F..%2Fx.fastq.gz"]:
        assert "refused" in unusable_reason({**good, "href": href})
    assert unusable_reason({**good, "status": "archived"}) == "status archived"
    assert unusable_reason({**good, "restricted": True}) == "restricted"


def test_lane_pairing_drops_a_lane_without_mate():
    base = {"status": "released", "md5sum": "0" * 32, "file_size": 1, "file_format": "fastq", "output_type": "reads",
            "biological_replicates": [1], "run_type": "paired-ended"}
    files = [
        {**base, "@id": "/files/A/", "accession": "A", "href": "/f/A.fastq.gz", "paired_end": "1", "paired_with": "/files/B/"},
        {**base, "@id": "/files/B/", "accession": "B", "href": "/f/B.fastq.gz", "paired_end": "2", "paired_with": "/files/A/"},
        {**base, "@id": "/files/C/", "accession": "C", "href": "/f/C.fastq.gz", "paired_end": "1", "paired_with": "/files/D/"},
        {**base, "@id": "/files/D/", "accession": "D", "href": "/f/D.fastq.gz", "paired_end": "2", "paired_with": "/files/C/", "status": "archived"},
    ]
    lanes = replicate_lanes(files, "ENCSR")
    assert [(lane.r1["accession"], lane.r2["accession"]) for lane in lanes[1]] == [("A", "B")]


def test_split_list_keeps_commas_inside_names():
    assert split_list(["K562,HepG2", "CD4-positive, alpha-beta T cell"]) == ("K562", "HepG2", "CD4-positive, alpha-beta T cell")
    assert split_list(None) == ()
    assert split_list(RNA_TITLES) == ("total RNA-seq", "polyA plus RNA-seq")


def test_options_are_checked():
    with pytest.raises(InputError, match="--match_by lab: choose one of biosample, donor"):
        Options(match_by="lab", rna_assay_titles=("total RNA-seq",))
    with pytest.raises(InputError, match="--rna_assay_titles: at least one RNA-seq assay title is needed"):
        Options(match_by="biosample", rna_assay_titles=split_list(""))
    with pytest.raises(InputError, match="--max_biosamples 0: must be >= 1"):
        Options(match_by="donor", rna_assay_titles=("total RNA-seq",), max_biosamples=0)
    with pytest.raises(TypeError):
        Options(match_by="biosample")  # no default beside the schema's


@pytest.mark.parametrize("missing", ["--encode_url", "--match_by", "--rna_assay_titles"])
def test_script_requires_the_pipeline_settings(tmp_path, capsys, missing):
    args = {"--encode_url": "http://127.0.0.1:9", "--match_by": "biosample", "--rna_assay_titles": RNA_TITLES}
    del args[missing]
    with pytest.raises(SystemExit) as exit_:
        encode_samplesheet.main([*(x for pair in args.items() for x in pair), "--output", str(tmp_path / "s.csv")])
    assert exit_.value.code == 2 and missing in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_standalone_data_folder(tmp_path):
    (tmp_path / "a_R1.fastq.gz").write_bytes(b"r1")
    (tmp_path / "a_R2.fastq.gz").write_bytes(b"r2")
    (tmp_path / "b.fastq.gz").write_bytes(b"s")
    (tmp_path / "a.bed").write_bytes(b"chr1\t1\t2\n")
    (tmp_path / "samplesheet.csv").write_text("sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz,a_R2.fastq.gz,a.bed\nB,b.fastq.gz,,a.bed\n")
    data = data_from_samplesheet(tmp_path)
    with FakeServer(data) as server:
        client = EncodeClient(server.url, min_interval=0)
        selection = select_samples(client, OPTIONS)
    assert [(s.id, s.run_type) for s in selection.samples] == [("A_rep1", "paired-ended"), ("B_rep1", "single-ended")]


def test_downloads_and_the_local_samplesheet(portal, server, tmp_path):
    """Every distinct URL once, under a name the pipeline makes; the local samplesheet names those files in the
    'reads' layout, which the samplesheet check reads against the folder they are put in."""
    code, sheet, _ = _run(server, tmp_path, "--downloads", str(tmp_path / "downloads.tsv"),
                          "--local_samplesheet", str(tmp_path / "local.csv"))
    assert code == 0
    _, rows = _read(sheet)
    columns, downloads = _read(tmp_path / "downloads.tsv", "\t")
    assert columns == DOWNLOAD_COLUMNS
    urls = sorted({u for r in rows for c in ("fastq_1", "fastq_2", "peaks") for u in r[c].split(";") if u})
    assert [d["url"] for d in downloads] == urls
    assert all(re.fullmatch(r"file_\d+\.(fastq|bed)\.gz", d["name"]) for d in downloads)
    name_of = {d["url"]: d["name"] for d in downloads}
    local = read_samplesheet(tmp_path / "local.csv", "reads", base=tmp_path / "staged")
    by_sample = {r["sample"]: r for r in rows}
    for row in local:
        remote = by_sample[row["sample"]]
        assert row["fastq_1"] == [str(tmp_path / "staged" / name_of[u]) for u in remote["fastq_1"].split(";")]
        assert row["peaks"] == str(tmp_path / "staged" / name_of[remote["peaks"]])
        assert row["single_end"] == (remote["fastq_2"] == "")
    md5 = {d["url"]: d["md5"] for d in downloads}
    k1 = by_sample["K562_rep1"]
    assert [md5[u] for u in k1["fastq_1"].split(";")] == k1["fastq_1_md5"].split(";")


def test_gene_quantifications_instead_of_fastqs(tmp_path):
    """--expression quantifications: per replicate the released gene quantifications of the assembly, newest GENCODE
    annotation first; no FASTQ in the plan; the local samplesheet is sample,peaks and quantifications.tsv names each
    sample's downloaded file."""
    (tmp_path / "a_R1.fastq.gz").write_bytes(b"r1")
    (tmp_path / "a.bed").write_bytes(b"chr1\t1\t2\n")
    (tmp_path / "samplesheet.csv").write_text("sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz,,a.bed\nB,a_R1.fastq.gz,,a.bed\n")
    (tmp_path / "truth.tsv").write_text("sample\tgene_id\tgene_name\ttrue_tpm\nA\tENSG01\tX\t1.5\nB\tENSG01\tX\t2.5\n")
    data = data_from_samplesheet(tmp_path, quantifications=True)
    # a restricted, newer annotation is not usable; a pooled one neither
    rna = next(o["@id"] for o in data.objects.values() if o.get("assay_title") == "total RNA-seq")
    data.gene_quantifications(rna, b"x", genome_annotation="V40", restricted=True)
    with FakeServer(data) as server:
        code = encode_samplesheet.main(["--encode_url", server.url, "--match_by", "biosample", "--rna_assay_titles", RNA_TITLES,
                                        "--expression", "quantifications", "--output", str(tmp_path / "sheet.csv"),
                                        "--provenance", str(tmp_path / "prov.tsv"), "--downloads", str(tmp_path / "downloads.tsv"),
                                        "--local_samplesheet", str(tmp_path / "local.csv"),
                                        "--quantifications", str(tmp_path / "quant.tsv"), *FAST])
    assert code == 0
    _, rows = _read(tmp_path / "sheet.csv")
    files = {o["href"]: o for o in data.objects.values() if "File" in o["@type"]}
    for row in rows:
        chosen = files[row["expression"].removeprefix(server.url)]
        assert (chosen["genome_annotation"], chosen["assembly"], chosen["restricted"]) == ("V29", "GRCh38", False)
        assert row["expression_md5"] == chosen["md5sum"] and row["fastq_1"] == "" and row["run_type"] == ""
    _, downloads = _read(tmp_path / "downloads.tsv", "\t")
    assert sorted(d["name"].rsplit(".", 1)[-1] for d in downloads) == ["gz", "gz", "tsv", "tsv"]
    local = read_samplesheet(tmp_path / "local.csv", "peaks", base=tmp_path)
    assert [r["sample"] for r in local] == ["A_rep1", "B_rep1"]
    _, quantifications = _read(tmp_path / "quant.tsv", "\t")
    name_of = {d["url"]: d["name"] for d in downloads}
    assert [(q["sample"], q["file"]) for q in quantifications] == [(r["sample"], name_of[r["expression"]]) for r in rows]
    _, provenance = _read(tmp_path / "prov.tsv", "\t")
    assert {p["genome_annotation"] for p in provenance} == {"V29"}


def test_gene_quantifications_of_another_assembly_are_not_used(tmp_path):
    """--genome GRCh37 asks ENCODE's hg19 files: the hg19 quantification is chosen, and peaks of GRCh38 are not."""
    (tmp_path / "a_R1.fastq.gz").write_bytes(b"r1")
    (tmp_path / "a.bed").write_bytes(b"chr1\t1\t2\n")
    (tmp_path / "samplesheet.csv").write_text("sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz,,a.bed\n")
    (tmp_path / "truth.tsv").write_text("sample\tgene_id\tgene_name\ttrue_tpm\nA\tENSG01\tX\t1.5\n")
    data = data_from_samplesheet(tmp_path, quantifications=True)
    with FakeServer(data) as server:
        client = EncodeClient(server.url, min_interval=0)
        options = Options(match_by="biosample", rna_assay_titles=split_list(RNA_TITLES), expression="quantifications", assembly="hg19")
        assert select_samples(client, options).samples == []  # the fixture's peaks are GRCh38 only
        atac = next(o["@id"] for o in data.objects.values() if o.get("assay_title") == "ATAC-seq")
        data.peaks(atac, b"chr1\t1\t2\n", assembly="hg19", biological_replicates=[1], preferred_default=True, gz=False)
        samples = select_samples(EncodeClient(server.url, min_interval=0), options).samples
    assert [(s.quantification["assembly"], s.quantification["genome_annotation"], s.peaks["assembly"]) for s in samples] == [
        ("hg19", "V19", "hg19")]
