"""Streaming readers of the references: the GTF's genes and transcripts, the cDNA FASTA's transcript ids."""

from __future__ import annotations

import gzip
import io
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atac2expr import annotation
from atac2expr.annotation import read_gtf
from atac2expr.cli import InputError
from atac2expr.formats import GENES
from atac2expr.regions import normalize_chroms
from atac2expr.sequences import fasta_ids


def whole_file_read_gtf(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The expectation: the whole GTF parsed at once with pandas, as the pipeline did before streaming."""
    text = gzip.decompress(path.read_bytes()).decode()
    gtf = pd.read_csv(io.StringIO(text), sep="\t", header=None, comment="#", usecols=[0, 2, 3, 4, 6, 8],
                      names=["chrom", "feature", "start", "end", "strand", "attributes"],
                      dtype={"chrom": str, "feature": str, "start": np.int64, "end": np.int64, "strand": str, "attributes": str})

    def attribute(column: pd.Series, key: str) -> pd.Series:
        return column.str.extract(rf'(?:^|;)\s*{key} "([^"]*)"', expand=False)

    def unversioned(ids: pd.Series) -> pd.Series:
        return ids.astype(str).str.replace(r"\.\d+$", "", regex=True)

    genes = gtf[gtf["feature"] == "gene"].copy()
    genes["gene_id"] = unversioned(attribute(genes["attributes"], "gene_id"))
    genes["gene_name"] = attribute(genes["attributes"], "gene_name").fillna(genes["gene_id"])
    genes["gene_biotype"] = attribute(genes["attributes"], "gene_biotype").fillna("")
    genes["chrom"] = normalize_chroms(genes["chrom"])
    genes["start"] = genes["start"] - 1
    genes["tss"] = np.where(genes["strand"] == "-", genes["end"] - 1, genes["start"])
    genes = genes[GENES.columns].drop_duplicates("gene_id").reset_index(drop=True)
    tx = gtf[gtf["feature"] == "transcript"]
    transcripts = pd.DataFrame({
        "transcript_id": unversioned(attribute(tx["attributes"], "transcript_id")),
        "gene_id": unversioned(attribute(tx["attributes"], "gene_id")),
    }).dropna().drop_duplicates("transcript_id").reset_index(drop=True)
    return genes, transcripts


def write_gz(path: Path, text: str | bytes) -> Path:
    path.write_bytes(gzip.compress(text.encode() if isinstance(text, str) else text))
    return path


def gtf_lines(test_data: Path) -> list[str]:
    return gzip.decompress((test_data / "genes.gtf.gz").read_bytes()).decode().splitlines(keepends=True)


def as_gencode(line: str) -> str:
    """An Ensembl GTF line as GENCODE writes it: chr names, versioned ids, gene_type, an unquoted level."""
    if line.startswith("#"):
        return line
    fields = line.rstrip("\n").split("\t")
    fields[0] = "chrM" if fields[0] == "MT" else f"chr{fields[0]}"
    attributes = re.sub(r'((?:gene|transcript)_id) "(ENS[GT]\d+)"', r'\1 "\2.7"', fields[8])
    fields[8] = attributes.replace("gene_biotype", "gene_type") + " level 2;"
    return "\t".join(fields) + "\n"


# --- read_gtf -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [annotation.CHUNK_SIZE, 4096, 97])
def test_streaming_gtf_equals_the_whole_file_parse(test_data, chunk_size):
    """Chunks of any size (97 bytes: every line crosses a chunk boundary) give the same tables."""
    gtf = test_data / "genes.gtf.gz"
    expected_genes, expected_transcripts = whole_file_read_gtf(gtf)
    genes, transcripts = read_gtf(gtf, chunk_size=chunk_size)
    assert len(expected_genes) > 50 and len(expected_transcripts) > 200  # the test GTF really is exercised
    pd.testing.assert_frame_equal(genes, expected_genes)
    pd.testing.assert_frame_equal(transcripts, expected_transcripts)


def test_plain_gtf_equals_the_gzipped_one(test_data, tmp_path):
    plain = tmp_path / "genes.gtf"
    plain.write_bytes(gzip.decompress((test_data / "genes.gtf.gz").read_bytes()))
    for ours, theirs in zip(read_gtf(plain), read_gtf(test_data / "genes.gtf.gz"), strict=True):
        pd.testing.assert_frame_equal(ours, theirs)


def test_gencode_style_gtf_reads_as_the_ensembl_one(test_data, tmp_path):
    """chr prefixes, versioned ids and gene_type instead of gene_biotype give the same genes and transcripts."""
    lines = gtf_lines(test_data)
    gencode = write_gz(tmp_path / "gencode.gtf.gz", "##description: evidence-based annotation\n##provider: GENCODE\n"
                       + "".join(as_gencode(line) for line in lines))
    assert "gene_biotype" not in gzip.decompress(gencode.read_bytes()).decode()
    genes, transcripts = read_gtf(gencode)
    expected_genes, expected_transcripts = whole_file_read_gtf(test_data / "genes.gtf.gz")
    assert (expected_genes["gene_biotype"] != "").all()
    pd.testing.assert_frame_equal(genes, expected_genes)
    pd.testing.assert_frame_equal(transcripts, expected_transcripts)


GENCODE = """##description: evidence-based annotation of the human genome (GRCh38), version 47 (Ensembl 113)
##provider: GENCODE
##format: gtf
chrM\tENSEMBL\tgene\t577\t647\t.\t+\t.\tgene_id "ENSG00000210049.1"; gene_type "Mt_tRNA"; gene_name "MT-TF"; level 3;
chrM\tENSEMBL\ttranscript\t577\t647\t.\t+\t.\tgene_id "ENSG00000210049.1"; transcript_id "ENST00000387314.1"; gene_type "Mt_tRNA"; level 3;
chrX\tHAVANA\tgene\t100\t900\t.\t-\t.\tgene_id "ENSG00000000003.16"; gene_type "protein_coding"; gene_name "TSPAN6"; level 2;
chrX\tHAVANA\ttranscript\t100\t900\t.\t-\t.\tgene_id "ENSG00000000003.16"; transcript_id "ENST00000373020.9"; level 2;
chrX\tHAVANA\texon\t100\t300\t.\t-\t.\tgene_id "ENSG00000000003.16"; transcript_id "ENST00000373020.9"; exon_number 1; level 2;
chrY\tHAVANA\tgene\t2000\t3000\t.\t+\t.\tgene_id "ENSG00000182378.14_PAR_Y"; gene_type "lncRNA"; gene_name "PLCXD1"; level 2;
chrY\tHAVANA\ttranscript\t2000\t3000\t.\t+\t.\tgene_id "ENSG00000182378.14_PAR_Y"; transcript_id "ENST00000381192.10_PAR_Y"; level 2;
"""


def test_gencode_gtf_values(tmp_path):
    genes, transcripts = read_gtf(write_gz(tmp_path / "gencode.gtf.gz", GENCODE))
    genes = genes.set_index("gene_id")
    assert list(genes.index) == ["ENSG00000210049", "ENSG00000000003", "ENSG00000182378.14_PAR_Y"]
    assert list(genes["chrom"]) == ["MT", "X", "Y"]
    assert list(genes["gene_biotype"]) == ["Mt_tRNA", "protein_coding", "lncRNA"]
    assert (genes.loc["ENSG00000000003", ["start", "end", "tss"]] == [99, 900, 899]).all()  # minus strand: TSS is the last base
    assert dict(zip(transcripts["transcript_id"], transcripts["gene_id"], strict=True)) == {
        "ENST00000387314": "ENSG00000210049", "ENST00000373020": "ENSG00000000003",
        "ENST00000381192.10_PAR_Y": "ENSG00000182378.14_PAR_Y"}


def test_header_and_comment_lines_and_hash_inside_values(tmp_path):
    """Lines starting with '#' are skipped, even one holding '\\tgene\\t'; a '#' inside a value is text."""
    text = ("#!genome-build GRCh38.p14\n#!genome-version GRCh38\n"
            "#\tcomment\tgene\t1\t2\t.\t+\t.\tgene_id \"ENSG_COMMENTED\";\n"
            '1\tensembl\tgene\t11\t20\t.\t+\t.\tgene_id "ENSG01"; gene_name "A#1"; gene_biotype "lncRNA";\n'
            "\n"
            '1\tensembl\ttranscript\t11\t20\t.\t+\t.\tgene_id "ENSG01"; transcript_id "ENST01"; note "x # y";\n'
            '1\tgene\texon\t11\t20\t.\t+\t.\tgene_id "ENSG01"; transcript_id "ENST01";\n')  # source 'gene', feature exon
    genes, transcripts = read_gtf(write_gz(tmp_path / "g.gtf.gz", text))
    assert genes[["gene_id", "gene_name", "gene_biotype", "start", "end"]].values.tolist() == [["ENSG01", "A#1", "lncRNA", 10, 20]]
    assert transcripts.values.tolist() == [["ENST01", "ENSG01"]]


def test_missing_name_and_biotype_fall_back(tmp_path, caplog):
    text = ('1\tensembl\tgene\t11\t20\t.\t-\t.\tgene_id "ENSG01.2";\n'
            '1\tensembl\ttranscript\t11\t20\t.\t-\t.\tgene_id "ENSG01.2"; transcript_id "ENST01.1";\n'
            '1\tensembl\ttranscript\t11\t20\t.\t-\t.\tgene_id "ENSG01.2";\n')  # no transcript_id: left out
    genes, transcripts = read_gtf(write_gz(tmp_path / "g.gtf.gz", text))
    assert genes.iloc[0][["gene_id", "gene_name", "gene_biotype", "tss"]].tolist() == ["ENSG01", "ENSG01", "", 19]
    assert transcripts.values.tolist() == [["ENST01", "ENSG01"]]
    assert "1 'transcript' line(s) without transcript_id left out (the first on line 3)" in caplog.text


def test_multi_member_gzip(test_data, tmp_path):
    """bgzip and concatenated gzip files are several gzip members: all of them are read."""
    lines = gtf_lines(test_data)
    half = len(lines) // 2
    path = tmp_path / "members.gtf.gz"
    path.write_bytes(gzip.compress("".join(lines[:half]).encode()) + gzip.compress("".join(lines[half:]).encode()))
    for ours, theirs in zip(read_gtf(path), read_gtf(test_data / "genes.gtf.gz"), strict=True):
        pd.testing.assert_frame_equal(ours, theirs)


def test_last_line_without_newline_and_crlf(tmp_path):
    text = ('1\tensembl\tgene\t11\t20\t.\t+\t.\tgene_id "ENSG01"; gene_name "A";\r\n'
            '1\tensembl\ttranscript\t11\t20\t.\t+\t.\tgene_id "ENSG01"; transcript_id "ENST01";')
    genes, transcripts = read_gtf(write_gz(tmp_path / "g.gtf.gz", text))
    assert genes[["gene_id", "gene_name", "strand"]].values.tolist() == [["ENSG01", "A", "+"]]
    assert transcripts.values.tolist() == [["ENST01", "ENSG01"]]


def test_memory_does_not_follow_the_file_size(tmp_path):
    """40 MB of exon lines around two genes: the traced peak follows the chunk size, not the file size.

    (The whole-file parse peaks at about ten times the text.)"""
    exon = '1\thavana\texon\t100\t200\t.\t+\t.\tgene_id "ENSG01"; transcript_id "ENST01"; exon_number "1"; ' + "x" * 100 + ";\n"
    gene = '1\thavana\tgene\t100\t900\t.\t+\t.\tgene_id "ENSG0{i}"; gene_name "G{i}";\n'
    tx = '1\thavana\ttranscript\t100\t900\t.\t+\t.\tgene_id "ENSG0{i}"; transcript_id "ENST0{i}";\n'
    body = exon * 200_000
    text = gene.format(i=1) + tx.format(i=1) + body + gene.format(i=2) + tx.format(i=2) + body
    path = write_gz(tmp_path / "big.gtf.gz", text)
    chunk = 1 << 20
    tracemalloc.start()
    try:
        genes, transcripts = read_gtf(path, chunk_size=chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(genes["gene_id"]) == ["ENSG01", "ENSG02"] and len(transcripts) == 2
    assert len(text) > 40e6 and peak < len(text) / 4


# --- read_gtf: bad input --------------------------------------------------------------------------------------------------


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        read_gtf(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_truncated_gzip_gtf(test_data, tmp_path):
    data = (test_data / "genes.gtf.gz").read_bytes()
    truncated = tmp_path / "truncated.gtf.gz"
    truncated.write_bytes(data[: len(data) // 2])
    assert "gzip file is truncated or corrupt" in _error(truncated)


def test_corrupt_gzip_gtf(test_data, tmp_path):
    data = bytearray((test_data / "genes.gtf.gz").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    corrupt = tmp_path / "corrupt.gtf.gz"
    corrupt.write_bytes(bytes(data))
    assert "gzip file is truncated or corrupt" in _error(corrupt)


@pytest.mark.parametrize("content, message", [
    (b">ENST01.1 cdna\nACGT\n", "not a GTF file with 9 tab-separated columns (line 1 has 1)"),
    (b"#!genome-build GRCh38\n\nchr1\t100\t200\n", "not a GTF file with 9 tab-separated columns (line 3 has 3)"),
    (b"", "not a GTF file with 9 tab-separated columns (no data lines)"),
    (b"#!genome-build GRCh38\n", "not a GTF file with 9 tab-separated columns (no data lines)"),
    (b'1\tensembl\texon\t1\t2\t.\t+\t.\tgene_id "ENSG01"; transcript_id "ENST01";\n', "no 'gene' lines"),
    (b'1\tensembl\tgene\t1\t2\t.\t+\t.\tgene_id "ENSG01";\n', "no 'transcript' lines"),
    (b'1\tensembl\tgene\t1\t2\t.\t+\t.\tgene_id "ENSG01";\n1\tensembl\ttranscript\t1\t2\t.\t+\tgene_id "ENSG01";\n',
     "not a GTF file with 9 tab-separated columns (line 2 has 8)"),
    (b'1\tensembl\tgene\t1\t2\t.\t+\t.\tgene_id "ENSG01";\n1\tensembl\tgene\tone\t2\t.\t+\t.\tgene_id "ENSG02";\n',
     "line 2: start/end 'one'/'2' are not integers"),
    (b'1\tensembl\tgene\t1\t99999999999999999999\t.\t+\t.\tgene_id "ENSG01";\n', "line 1: start/end '1'/'99999999999999999999' are not integers"),
    (b'1\tensembl\tgene\t\t2\t.\t+\t.\tgene_id "ENSG01";\n', "line 1: start/end ''/'2' are not integers"),
    (b'1\tensembl\tgene\t1\t20\t.\t+\t.\tgene_id "ENSG01";\n1\tensembl\ttranscript\t1\t20\t.\t+\t.\ttranscript_id "ENST01";\n',
     "line 2: a 'transcript' line without gene_id, which GTF requires on every line"),
    (b'#!genome-build GRCh38\n1\tensembl\tgene\t1\t20\t.\t+\t.\tgene_name "A";\n', "line 2: a 'gene' line without gene_id"),
])
def test_not_a_gtf(tmp_path, content, message):
    path = tmp_path / "bad.gtf"
    path.write_bytes(content)
    assert message in _error(path)


def test_non_utf8_line_is_named_across_chunks(test_data, tmp_path):
    lines = gtf_lines(test_data)
    target = next(i for i, line in enumerate(lines) if "\texon\t" in line and i > 1000)  # exon lines are checked too
    lines[target] = lines[target].replace('gene_name "', 'gene_name "\udce9', 1)
    path = write_gz(tmp_path / "latin1.gtf.gz", "".join(lines).encode("utf-8", "surrogateescape"))
    for chunk_size in (annotation.CHUNK_SIZE, 4096):
        assert f"line {target + 1} is not valid UTF-8 text" in _error(path, chunk_size=chunk_size)


def test_transcript_without_gene_id_is_named_across_chunks(test_data, tmp_path):
    lines = gtf_lines(test_data)
    target = next(i for i, line in enumerate(lines) if "\ttranscript\t" in line and i > 1000)
    lines[target] = re.sub(r'gene_id "[^"]*"; ', "", lines[target])
    path = write_gz(tmp_path / "no_gene_id.gtf.gz", "".join(lines))
    for chunk_size in (annotation.CHUNK_SIZE, 4096):
        assert f"line {target + 1}: a 'transcript' line without gene_id" in _error(path, chunk_size=chunk_size)


def test_misplaced_line_is_named_across_chunks(test_data, tmp_path):
    lines = gtf_lines(test_data)
    target = next(i for i, line in enumerate(lines) if "\ttranscript\t" in line and i > 1000)
    lines[target] = lines[target].replace("\t.\t", "\t", 1)
    path = write_gz(tmp_path / "short.gtf.gz", "".join(lines))
    assert f"(line {target + 1} has 8)" in _error(path, chunk_size=4096)


def test_binary_without_newlines_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(annotation, "MAX_LINE", 1000)
    path = tmp_path / "blob.gtf"
    path.write_bytes(b"A\tB" * 100_000)
    assert "line 1 is longer than 1000 bytes" in _error(path, chunk_size=512)


def test_missing_gtf(tmp_path):
    assert "file not found" in _error(tmp_path / "nope.gtf.gz")


# --- fasta_ids ------------------------------------------------------------------------------------------------------------


def test_fasta_ids_of_the_test_transcriptome(test_data):
    text = gzip.decompress((test_data / "transcriptome.fa.gz").read_bytes()).decode()
    headers = re.findall(r"^>(\S+)", text, flags=re.M)
    assert len(headers) > 200 and all("." in h for h in headers)  # Ensembl headers carry versions
    assert fasta_ids(test_data / "transcriptome.fa.gz") == {h.rsplit(".", 1)[0] for h in headers}


def test_fasta_ids_plain_gencode_headers_and_blank_lead(tmp_path):
    path = tmp_path / "gencode.fa"
    path.write_text("\n>ENST00000456328.2|ENSG00000290825.1|-|-|DDX11L2-202|DDX11L2|1657|lncRNA|\nACGT\nAC\n"
                    ">ENST00000381192.10_PAR_Y|ENSG00000182378.14_PAR_Y|-|-|PLCXD1-201|PLCXD1|1000|protein_coding|\nGG\n"
                    ">ENST00000000001 cdna chromosome:GRCh38:1:1:2:1\nA\n")
    assert fasta_ids(path) == {"ENST00000456328", "ENST00000381192.10_PAR_Y", "ENST00000000001"}


def _fasta_error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        fasta_ids(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize("content, message", [
    (b">ENST01.1 cdna\nACGT\n>ENST02.1\nAC\n>ENST01.1 again\nGG\n", "transcript id ENST01 repeats (records 1 'ENST01.1' and 3 'ENST01.1')"),
    (b">ENST01.1\nACGT\n>ENST01.2\nAC\n", "transcript id ENST01 repeats (records 1 'ENST01.1' and 2 'ENST01.2')"),
    (b">ENST01.1|ENSG01|\nACGT\n>ENST01.1|ENSG02|\nAC\n", "transcript id ENST01 repeats"),
    (b"@read1\nACGT\n+\nIIII\n", "not a FASTA file (it starts with '@', not a '>' header)"),
    (b"gene_id\ttranscript_id\nENSG01\tENST01\n", "not a FASTA file (it starts with 'g'"),
    (b"", "not a FASTA file (empty)"),
    (b"\n \n", "not a FASTA file (empty)"),
    (b">ENST01\nAC\n> ENST02\nAC\n", "record 2 has no transcript id"),
    (b">ENST01\nAC\n>ENST\xe9\nAC\n", "the header of record 2 is not valid UTF-8 text"),
])
def test_bad_fasta(tmp_path, content, message):
    path = tmp_path / "tx.fa"
    path.write_bytes(content)
    assert message in _fasta_error(path)


def test_truncated_and_corrupt_gzip_fasta(test_data, tmp_path):
    data = (test_data / "transcriptome.fa.gz").read_bytes()
    truncated = tmp_path / "truncated.fa.gz"
    truncated.write_bytes(data[: len(data) // 2])
    assert "gzip file is truncated or corrupt" in _fasta_error(truncated)
    corrupt = bytearray(data)
    corrupt[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    (tmp_path / "corrupt.fa.gz").write_bytes(bytes(corrupt))
    assert "gzip file is truncated or corrupt" in _fasta_error(tmp_path / "corrupt.fa.gz")


def test_truncated_gzip_head_of_fasta(tmp_path):
    path = tmp_path / "head.fa.gz"
    path.write_bytes(gzip.compress(b">ENST01\nACGT\n" * 1000)[:20])
    assert "gzip file is truncated or corrupt" in _fasta_error(path)


def test_missing_fasta(tmp_path):
    assert "file not found" in _fasta_error(tmp_path / "nope.fa")
