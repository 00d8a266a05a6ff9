#!/usr/bin/env python3
"""A fake ENCODE portal + Ensembl FTP site for tests (standard library only).

ENCODE side (a tiny snovault): objects are stored in the object frame (links are @id strings) under
their @id; dotted search filters follow the links (`biosample_ontology.term_name=K562`,
`replicates.library.biosample.donor.organism.scientific_name=Homo sapiens`), repeated keys OR,
`key!=v` negates, `key=*` tests existence. Like the portal: `limit` defaults to 25, no `frame` gives
only a few columns, zero hits is HTTP 404 with `notification: "No results found"`,
`/files/ACC/@@download/NAME` answers 307 to `/storage/ACC/NAME?X-Amz-Signature=...` (403 for a
restricted file), storage answers Range requests with 206.
Ensembl side: any blob path, e.g. /pub/release-113/gtf/homo_sapiens/... with a CHECKSUMS file of BSD
`sum` lines.

Faults, per request path (without the query), each used up after `times` requests:
  server.fault(path, "status", code=503, times=2, retry_after="0")
  server.fault(path, "drop", after=100)        # headers promise everything, connection closed after 100 bytes
  server.fault(path, "corrupt", times=9)       # right length, wrong bytes
  server.fault(path, "norange")                # answer a Range request with the whole file (200)
Every request is recorded in server.requests (method, path, query, headers).

Standalone, for an end-to-end run of the pipeline's ENCODE path:
  python tests/fake_encode.py --port 0 --data DIR --ready-file F [--ensembl-gtf GTF --ensembl-cdna FA]
DIR/samplesheet.csv (sample,fastq_1,fastq_2,peaks; paths relative to it) becomes one biosample per
row (term name = the sample id, classification 'cell line') with one ATAC-seq experiment (its peaks,
preferred_default pseudoreplicated peaks) and one total RNA-seq experiment (its FASTQs as
biological replicate 1, paired when fastq_2 is set). The server's base URL is written to F once it
listens; use it as --encode_url, and BASE/pub as --ensembl_url.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.server
import json
import signal
import socket
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTROL_PARAMS = {"type", "format", "frame", "limit", "field", "sort", "searchTerm"}
EMBED_KEYS = {"biosample_ontology", "replicates", "library", "biosample", "donor", "organism"}
FEW_COLUMNS = ("@id", "@type", "accession", "status")


def bsd_sum(data: bytes) -> tuple[int, int]:
    """The test oracle for BSD `sum` (independent of atac2expr.download)."""
    checksum = 0
    for byte in data:
        checksum = (checksum >> 1) | ((checksum & 1) << 15)
        checksum = (checksum + byte) & 0xFFFF
    return checksum, -(-len(data) // 1024)


class FakeEncodeData:
    """ENCODE-shaped objects and the bytes behind them, built programmatically."""

    def __init__(self) -> None:
        self.objects: dict[str, dict] = {}
        self.blobs: dict[str, bytes] = {}
        self._n: dict[str, int] = {}

    def _accession(self, prefix: str) -> str:
        n = self._n[prefix] = self._n.get(prefix, 0) + 1
        letters = "".join(chr(65 + (n // 26 ** i) % 26) for i in (2, 1, 0))
        return f"{prefix}{n % 1000:03d}{letters}"

    def _add(self, obj: dict) -> str:
        self.objects[obj["@id"]] = obj
        return obj["@id"]

    # ---- metadata
    def organism(self) -> str:
        return self._add({"@id": "/organisms/human/", "@type": ["Organism", "Item"], "scientific_name": "Homo sapiens", "name": "human"})

    def donor(self, accession: str | None = None) -> str:
        accession = accession or self._accession("ENCDO")
        return self._add({"@id": f"/human-donors/{accession}/", "@type": ["HumanDonor", "Donor", "Item"], "accession": accession,
                          "organism": self.organism(), "status": "released"})

    def biosample_type(self, term_name: str, classification: str = "cell line", term_id: str | None = None) -> str:
        slug = f"{classification}_{term_name}".replace(" ", "_").replace(",", "")
        return self._add({"@id": f"/biosample-types/{slug}/", "@type": ["BiosampleType", "Item"], "term_name": term_name,
                          "classification": classification, "term_id": term_id or f"EFO:{len(self.objects):07d}"})

    def experiment(self, assay_title: str, biosample_type: str, replicates: dict[int, str] | list[int] = (1,), *,
                   donor: str | None = None, status: str = "released", perturbed: bool = False,
                   biosample_properties: dict[str, Any] | None = None) -> str:
        """replicates: biological replicate numbers (one donor for all) or {number: donor @id}; biosample_properties
        go into every biosample (e.g. genetic_modifications that the experiment's own `perturbed` does not show)."""
        accession = self._accession("ENCSR")
        exp_id = f"/experiments/{accession}/"
        if not isinstance(replicates, dict):
            donor = donor or self.donor()
            replicates = {n: donor for n in replicates}
        rep_ids = []
        for number, rep_donor in replicates.items():
            biosample = self._accession("ENCBS")
            self._add({"@id": f"/biosamples/{biosample}/", "@type": ["Biosample", "Item"], "accession": biosample,
                       "donor": rep_donor, "biosample_ontology": biosample_type, "organism": self.organism(), "status": "released",
                       **(biosample_properties or {})})
            library = self._accession("ENCLB")
            self._add({"@id": f"/libraries/{library}/", "@type": ["Library", "Item"], "accession": library,
                       "biosample": f"/biosamples/{biosample}/", "status": "released"})
            uuid = f"{accession.lower()}-rep{number}"
            rep_ids.append(self._add({"@id": f"/replicates/{uuid}/", "@type": ["Replicate", "Item"], "uuid": uuid,
                                      "biological_replicate_number": number, "technical_replicate_number": 1,
                                      "library": f"/libraries/{library}/", "experiment": exp_id, "status": "released"}))
        return self._add({"@id": exp_id, "@type": ["Experiment", "Dataset", "Item"], "accession": accession,
                          "assay_title": assay_title, "biosample_ontology": biosample_type, "status": status,
                          "perturbed": perturbed, "replicates": rep_ids, "files": []})

    # ---- files
    def file(self, experiment: str, content: bytes, *, file_format: str, output_type: str, extension: str,
             file_format_type: str | None = None, biological_replicates: list[int] = (1,), href: str | None = None,
             **properties: Any) -> str:
        accession = self._accession("ENCFF")
        name = f"{accession}{extension}"
        obj = {
            "@id": f"/files/{accession}/", "@type": ["File", "Item"], "accession": accession, "dataset": experiment,
            "file_format": file_format, "output_type": output_type, "status": "released",
            "file_type": f"{file_format} {file_format_type}" if file_format_type else file_format,
            "href": href or f"/files/{accession}/@@download/{name}", "md5sum": hashlib.md5(content).hexdigest(),
            "file_size": len(content), "biological_replicates": list(biological_replicates),
            "technical_replicates": [f"{n}_1" for n in biological_replicates], "no_file_available": False, "restricted": False,
        }
        if file_format_type:
            obj["file_format_type"] = file_format_type
        obj.update(properties)
        self.blobs[f"/storage/{accession}/{name}"] = content
        self.objects[experiment]["files"].append(obj["@id"])
        return self._add(obj)

    def peaks(self, experiment: str, content: bytes, *, output_type: str = "pseudoreplicated peaks", assembly: str = "GRCh38",
              biological_replicates: list[int] = (1, 2), gz: bool = True, **properties: Any) -> str:
        return self.file(experiment, content, file_format="bed", file_format_type="narrowPeak", output_type=output_type,
                         extension=".bed.gz" if gz else ".bed", assembly=assembly,
                         biological_replicates=biological_replicates, **properties)

    def fastq(self, experiment: str, content: bytes, rep: int = 1, *, read_length: int = 50, tech: int = 1, gz: bool = True,
              **properties: Any) -> str:
        props = {"run_type": "single-ended", "read_length": read_length, "output_type": "reads", **properties}
        fid = self.file(experiment, content, file_format="fastq", extension=".fastq.gz" if gz else ".fastq",
                        biological_replicates=[rep], **props)
        self.objects[fid]["technical_replicates"] = [f"{rep}_{tech}"]
        return fid

    def fastq_pair(self, experiment: str, r1: bytes, r2: bytes, rep: int = 1, *, read_length: int = 100, tech: int = 1,
                   gz: bool = True, **properties: Any) -> tuple[str, str]:
        id1 = self.fastq(experiment, r1, rep, read_length=read_length, tech=tech, gz=gz, run_type="paired-ended", paired_end="1", **properties)
        id2 = self.fastq(experiment, r2, rep, read_length=read_length, tech=tech, gz=gz, run_type="paired-ended", paired_end="2", **properties)
        self.objects[id1]["paired_with"] = id2
        self.objects[id2]["paired_with"] = id1
        return id1, id2

    def gene_quantifications(self, experiment: str, content: bytes, rep: int = 1, *, assembly: str = "GRCh38",
                             genome_annotation: str = "V29", **properties: Any) -> str:
        """An RSEM genes.results as ENCODE releases it: output_type 'gene quantifications', file_format tsv."""
        props = {"assembly": assembly, "genome_annotation": genome_annotation, "output_category": "quantification",
                 "quantification_reference": "/references/ENCSR000AAA/", **properties}
        return self.file(experiment, content, file_format="tsv", output_type="gene quantifications", extension=".tsv",
                         biological_replicates=[rep], **props)

    # ---- Ensembl
    def ensembl(self, release: int, gtf: bytes | None = None, cdna: bytes | None = None, prefix: str = "/pub") -> None:
        folders = {}
        if gtf is not None:
            folders[f"{prefix}/release-{release}/gtf/homo_sapiens"] = (f"Homo_sapiens.GRCh38.{release}.gtf.gz", gtf)
        if cdna is not None:
            folders[f"{prefix}/release-{release}/fasta/homo_sapiens/cdna"] = ("Homo_sapiens.GRCh38.cdna.all.fa.gz", cdna)
        for folder, (name, data) in folders.items():
            self.blobs[f"{folder}/{name}"] = data
            total, blocks = bsd_sum(data)
            readme = b"README placeholder\n"
            rs, rb = bsd_sum(readme)
            self.blobs[f"{folder}/README"] = readme
            self.blobs[f"{folder}/CHECKSUMS"] = f"{rs:05d} {rb:5d} README\n{total:05d} {blocks:5d} {name}\n".encode()

    # ---- the snovault-ish part
    def values_at(self, obj: Any, dotted: str) -> list[Any]:
        """Values at a dotted path, following @id links and flattening lists."""
        current = [obj]
        for key in dotted.split("."):
            nxt = []
            for item in current:
                if isinstance(item, str) and item in self.objects:
                    item = self.objects[item]
                if isinstance(item, dict) and key in item:
                    value = item[key]
                    nxt.extend(value if isinstance(value, list) else [value])
            current = nxt
        return current

    def matches(self, obj: dict, filters: dict[str, list[str]]) -> bool:
        for key, wanted in filters.items():
            negate = key.endswith("!")
            path = key[:-1] if negate else key
            if path == "type":
                values = obj.get("@type", [])
            else:
                values = self.values_at(obj, path)
            texts = {json.dumps(v) if isinstance(v, bool) else str(v) for v in values if not isinstance(v, (dict, list))}
            hit = any((w == "*" and bool(values)) or w in texts for w in wanted)
            if hit == negate:
                return False
        return True

    def embed(self, obj: Any, depth: int = 0) -> Any:
        if depth > 5:
            return obj
        if isinstance(obj, list):
            return [self.embed(v, depth) for v in obj]
        if not isinstance(obj, dict):
            return obj
        out = {}
        for key, value in obj.items():
            if key in EMBED_KEYS:
                values = value if isinstance(value, list) else [value]
                resolved = [self.embed(self.objects[v], depth + 1) if isinstance(v, str) and v in self.objects else v for v in values]
                out[key] = resolved if isinstance(value, list) else resolved[0]
            else:
                out[key] = value
        return out

    def render(self, obj: dict, frame: str | None) -> dict:
        if frame == "object":
            return obj
        if frame == "embedded":
            return self.embed(obj)
        return {k: obj[k] for k in FEW_COLUMNS if k in obj}


@dataclass
class Fault:
    kind: str  # status | drop | corrupt | norange
    times: int = 1
    code: int = 503
    retry_after: str | None = None
    after: int = 0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """ThreadingHTTPServer around a FakeEncodeData; a context manager (start/stop)."""

    def __init__(self, data: FakeEncodeData, host: str = "127.0.0.1", port: int = 0) -> None:
        self.data = data
        self.faults: dict[str, list[Fault]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(_Handler):
            fake = server

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # dropped connections are on purpose
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def fault(self, path: str, kind: str, times: int = 1, **kwargs: Any) -> None:
        with self._lock:
            self.faults.setdefault(path, []).append(Fault(kind, times, **kwargs))

    def take_fault(self, path: str, kinds: tuple[str, ...]) -> Fault | None:
        with self._lock:
            for fault in self.faults.get(path, []):
                if fault.kind in kinds and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def requests_to(self, path_part: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


class _Handler(http.server.BaseHTTPRequestHandler):
    fake: FakeServer
    server_version = "FakeEncode/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, payload: Any) -> None:
        self._send(code, json.dumps(payload).encode())

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parts.path)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.fake.record(Request(self.command, path, query, {k.lower(): v for k, v in self.headers.items()}))
        fault = self.fake.take_fault(path, ("status",))
        if fault:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._send(fault.code, f"fake fault {fault.code}\n".encode(), "text/plain", headers)
            return
        data = self.fake.data
        if path == "/search/":
            self._search(query)
        elif "/@@download/" in path:
            self._download_redirect(path)
        elif path in data.blobs:
            self._blob(path, data.blobs[path])
        elif path in data.objects:
            frame = query.get("frame", ["embedded"])[0]
            self._json(200, data.render(data.objects[path], frame if frame in ("object", "embedded") else "embedded"))
        else:
            self._json(404, {"@type": ["HTTPNotFound", "Error"], "status": "error", "code": 404, "title": "Not Found",
                             "description": "The resource could not be found.", "detail": path})

    def _search(self, query: dict[str, list[str]]) -> None:
        data = self.fake.data
        if query.get("format", [""])[0] != "json" and "application/json" not in self.headers.get("Accept", ""):
            self._send(200, b"<html>search page</html>", "text/html")
            return
        filters = {k: v for k, v in query.items() if k not in CONTROL_PARAMS}
        types = query.get("type", [])
        hits = [o for o in data.objects.values() if (not types or any(t in o.get("@type", []) for t in types)) and data.matches(o, filters)]
        limit = query.get("limit", ["25"])[0]
        total = len(hits)
        if limit != "all":
            hits = hits[: int(limit)]
        frame = query.get("frame", [None])[0]
        body = {"@type": ["Search"], "@graph": [data.render(h, frame) for h in hits], "total": total,
                "filters": [{"field": k, "term": v} for k, vs in filters.items() for v in vs], "facets": [], "notification": "Success"}
        if not hits:
            body["notification"] = "No results found"
            self._json(404, body)
        else:
            self._json(200, body)

    def _download_redirect(self, path: str) -> None:
        data = self.fake.data
        file_path, _, name = path.partition("@@download/")
        obj = data.objects.get(file_path)
        if obj is None:
            self._json(404, {"status": "error", "code": 404, "detail": path})
            return
        if obj.get("restricted"):
            self._json(403, {"status": "error", "code": 403, "title": "Forbidden", "detail": "restricted file"})
            return
        if obj.get("no_file_available"):
            self._json(404, {"status": "error", "code": 404, "detail": "no file available"})
            return
        target = f"/storage/{obj['accession']}/{name}"
        self._send(307, b"", "text/plain", {"Location": f"{target}?X-Amz-Signature=fake&X-Amz-Expires=3600"})

    def _blob(self, path: str, content: bytes) -> None:
        fault = self.fake.take_fault(path, ("drop", "corrupt", "norange"))
        if fault and fault.kind == "corrupt":
            content = bytes(b ^ 0xFF for b in content)
        start = 0
        match = "" if fault and fault.kind == "norange" else self.headers.get("Range", "")
        if match.startswith("bytes=") and match.endswith("-") and match[6:-1].isdigit():
            start = int(match[6:-1])
            if start >= len(content):
                self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(content)}"})
                return
            body = content[start:]
            code, headers = 206, {"Content-Range": f"bytes {start}-{len(content) - 1}/{len(content)}"}
        else:
            body, code, headers = content, 200, {}
        if fault and fault.kind == "drop":
            self.send_response(code)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body[: fault.after])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(code, body, "application/octet-stream", {"Accept-Ranges": "bytes", **headers})


# ---------------------------------------------------------------------------------------------
# standalone


def rsem_genes_results(tpm: dict[str, float], scale: float = 1.0) -> bytes:
    """An RSEM genes.results of gene_id (GENCODE style, with a version) -> TPM, with the columns ENCODE's files have and
    an ERCC spike-in row (in no annotation)."""
    lines = ["gene_id\ttranscript_id(s)\tlength\teffective_length\texpected_count\tTPM\tFPKM"]
    for n, (gene, value) in enumerate(sorted(tpm.items())):
        lines.append(f"{gene}.{n % 7 + 1}\t{gene.replace('ENSG', 'ENST')}.1\t1500.00\t1351.00\t{value * 3:.2f}\t{value * scale!r}\t{value * 0.8:.2f}")
    lines.append("gSpikein_ERCC-00002\tgSpikein_ERCC-00002\t1061.00\t912.00\t0.00\t0.00\t0.00")
    return ("\n".join(lines) + "\n").encode()


def data_from_samplesheet(folder: str | Path, quantifications: bool = False) -> FakeEncodeData:
    """One biosample per row of DIR/samplesheet.csv (see the module docstring). With `quantifications`, each RNA-seq
    experiment also has released gene quantifications from DIR/truth.tsv (the simulated TPMs): GRCh38 GENCODE V29 (the
    file to choose), an older V24 and an hg19 one, both with other values."""
    folder = Path(folder)
    truth = {}
    if quantifications:
        with open(folder / "truth.tsv", newline="") as handle:
            for record in csv.DictReader(handle, delimiter="\t"):
                truth.setdefault(record["sample"], {})[record["gene_id"]] = float(record["true_tpm"])
    data = FakeEncodeData()
    with open(folder / "samplesheet.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        sample = row["sample"].strip()
        biosample = data.biosample_type(sample, "cell line")
        donor = data.donor()
        atac = data.experiment("ATAC-seq", biosample, [1], donor=donor)
        peaks = (folder / row["peaks"].strip()).read_bytes()
        data.peaks(atac, peaks, biological_replicates=[1], preferred_default=True, gz=row["peaks"].strip().endswith(".gz"))
        rna = data.experiment("total RNA-seq", biosample, [1], donor=donor)
        r1_path = row["fastq_1"].strip()
        r2_path = (row.get("fastq_2") or "").strip()
        if r2_path:
            data.fastq_pair(rna, (folder / r1_path).read_bytes(), (folder / r2_path).read_bytes(), 1, gz=r1_path.endswith(".gz"))
        else:
            data.fastq(rna, (folder / r1_path).read_bytes(), 1, gz=r1_path.endswith(".gz"))
        if quantifications:
            data.gene_quantifications(rna, rsem_genes_results(truth[sample], 2.0), genome_annotation="V24")
            data.gene_quantifications(rna, rsem_genes_results(truth[sample]), genome_annotation="V29")
            data.gene_quantifications(rna, rsem_genes_results(truth[sample], 3.0), assembly="hg19", genome_annotation="V19")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--data", required=True, help="folder with samplesheet.csv (sample,fastq_1,fastq_2,peaks)")
    parser.add_argument("--ready-file", help="write the base URL here once listening")
    parser.add_argument("--ensembl-release", type=int, default=113)
    parser.add_argument("--ensembl-gtf", help="served as BASE/pub/release-R/gtf/homo_sapiens/Homo_sapiens.GRCh38.R.gtf.gz")
    parser.add_argument("--ensembl-cdna", help="served as BASE/pub/release-R/fasta/homo_sapiens/cdna/Homo_sapiens.GRCh38.cdna.all.fa.gz")
    args = parser.parse_args(argv)

    data = data_from_samplesheet(args.data)
    gtf = Path(args.ensembl_gtf).read_bytes() if args.ensembl_gtf else None
    cdna = Path(args.ensembl_cdna).read_bytes() if args.ensembl_cdna else None
    if gtf is not None or cdna is not None:
        data.ensembl(args.ensembl_release, gtf, cdna)
    server = FakeServer(data, args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(server.url, flush=True)
    if args.ready_file:
        ready = Path(args.ready_file)
        tmp = ready.with_name(ready.name + ".tmp")
        tmp.write_text(server.url + "\n")
        tmp.replace(ready)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
