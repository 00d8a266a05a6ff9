"""Find matched ENCODE ATAC-seq and RNA-seq data and describe it as a samplesheet of URLs.

Queries (ENCODE REST API, `format=json`, `frame=object`, `limit=all`; zero hits is HTTP 404 with
`notification: "No results found"`, read as an empty list):
- released human experiments, `perturbed=false`: ATAC-seq, and RNA-seq of the `--rna_assay_titles`
  (default total RNA-seq and polyA plus RNA-seq); `--classifications` / `--biosamples` filter on
  `biosample_ontology.classification` / `.term_name` (on the server and again here);
- the files of the matched experiments, 25 experiments per File search (`dataset=` repeated):
  `file_type=bed narrowPeak` for ATAC-seq, `file_format=fastq` + `output_type=reads` for RNA-seq.
  Status, assembly, restriction are checked here, so that skipped files can be reported.
Linked objects (biosample_ontology, replicates -> library -> biosample -> donor) are fetched once each
(`frame=object`, cached); an embedded object (a dict) is used as it is. Requests are spaced by
`min_interval` seconds (ENCODE allows about 10 per second) and retried on 429/5xx.

Matching (`--match_by`):
- `biosample` (default): biosample_ontology term_name + classification. All RNA-seq experiments
  of the biosample are used; one ATAC-seq experiment (the first accession with usable peaks)
  gives the peaks of all of its samples.
- `donor`: term_name + classification + donor. An ATAC-seq experiment counts only when all its
  replicates come from one donor (its peaks pool the replicates); RNA-seq biological replicates are
  assigned to the donor of their own biosample.
A biosample (or biosample x donor) with only one of the two assays is dropped; the counts are logged
and returned. `--max_biosamples` keeps the first N matched groups (sorted by name) that have usable
files.

Files:
- Peaks: file_type `bed narrowPeak`, assembly of --genome (ENCODE's name: GRCh38 by default), status released, not restricted, not
  no_file_available; output_type `--peak_output_type` when given, else the `preferred_default`
  file(s), else `pseudoreplicated peaks`; among several, the one pooling the most biological
  replicates, then the lowest accession.
- RNA: output_type `reads`, file_format fastq, released, not restricted; R1 (paired_end "1") paired
  with its mate by `paired_with`; a mate that is missing or not usable drops that lane (logged).
  A replicate with both paired and single-ended runs keeps the paired ones.
  Files must have md5sum, file_size and an href whose file name is a plain name (else skipped).

One sample = one biological replicate of one RNA-seq experiment. Several sequencing lanes of the
replicate stay ONE row: fastq_1 (and fastq_2) hold the lanes' URLs joined with ';' in the same lane
order, and fastq_1_md5 / fastq_1_size / fastq_2_md5 / fastq_2_size hold the matching values joined
the same way (lanes sorted by technical replicate, then R1 accession). Quantification passes all
lanes of a sample to one kallisto run (R1 L1, R2 L1, R1 L2, R2 L2, ...). fastq_2 is empty for
single-ended runs (kallisto --single needs a fragment length: fragment_length is left empty, ENCODE
does not give one, so the pipeline's default applies). run_type is ENCODE's `paired-ended` /
`single-ended`; read_length lists the distinct read lengths of the sample's files, ';'-joined.

Gene quantifications (`--expression quantifications`, instead of FASTQs): per biological replicate of each
matched RNA-seq experiment, one released, unrestricted file of output_type `gene quantifications`, file_format
`tsv` (RSEM genes.results: gene_id, transcript_id(s), length, effective_length, expected_count, TPM, FPKM), of the
assembly of --genome (ENCODE's name: GRCh38, hg19, mm10); among several, the newest GENCODE annotation
(`genome_annotation`: V29 before V24, M21 before M4), then the lowest accession. A replicate without one is dropped
(logged). The sample row then has peaks and `expression` (URL, md5, size); the local samplesheet is `sample,peaks`
and quantifications.tsv names each sample's downloaded file.

Sample ids: biosample term name (characters outside [A-Za-z0-9_.-] become '_'), then the donor
(donor matching), the RNA experiment accession (only when the group has several RNA-seq
experiments), then `rep<N>`, joined by '_'; a clash gets `_2`, `_3`, ...
"""

from __future__ import annotations

import csv
import json
import logging
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .cli import InputError
from .download import RetryPolicy, fetch, name_from_url
from .files import atomic_output
from .formats import samplesheet_columns
from .samples import lane_separator, make_sample_id

log = logging.getLogger(__name__)

ATAC_ASSAY_TITLE = "ATAC-seq"
ORGANISM = "Homo sapiens"
PEAK_FILE_TYPE = "bed narrowPeak"
PEAK_ASSEMBLY = "GRCh38"  # the default; Options.assembly follows --genome
EXPRESSION_SOURCES = ("reads", "quantifications")
QUANTIFICATION_OUTPUT_TYPE = "gene quantifications"
QUANTIFICATION_FORMAT = "tsv"
FALLBACK_PEAK_OUTPUT_TYPE = "pseudoreplicated peaks"
MATCH_BY = ("biosample", "donor")
FILES_PER_SEARCH = 25
GROUPS_PER_ROUND = 10

DOWNLOAD_SUFFIX = {"fastq_1": ".fastq.gz", "fastq_2": ".fastq.gz", "peaks": ".bed.gz", "expression": ".tsv"}


@dataclass(frozen=True)
class Options:
    """What to select; the pipeline's defaults are those of nextflow_schema.json (--encode_*)."""

    match_by: str
    rna_assay_titles: tuple[str, ...]
    classifications: tuple[str, ...] = ()
    biosamples: tuple[str, ...] = ()
    max_biosamples: int | None = None
    peak_output_type: str | None = None
    organism: str = ORGANISM
    assembly: str = PEAK_ASSEMBLY  # ENCODE's name of the --genome assembly, of the peaks and the quantifications
    expression: str = "reads"  # RNA-seq as FASTQs ('reads') or ENCODE's gene quantifications

    def __post_init__(self) -> None:
        if self.expression not in EXPRESSION_SOURCES:
            raise InputError(f"--expression {self.expression}: choose one of {', '.join(EXPRESSION_SOURCES)}")
        if self.match_by not in MATCH_BY:
            raise InputError(f"--match_by {self.match_by}: choose one of {', '.join(MATCH_BY)}")
        if not self.rna_assay_titles:
            raise InputError("--rna_assay_titles: at least one RNA-seq assay title is needed")
        if self.max_biosamples is not None and self.max_biosamples < 1:
            raise InputError(f"--max_biosamples {self.max_biosamples}: must be >= 1")


def split_list(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """'a,b' or repeated options -> ('a', 'b'). A comma followed by a space stays in the value,
    so that names such as 'CD4-positive, alpha-beta T cell' survive."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in re.split(r",(?!\s)", value) if part.strip())
    return tuple(dict.fromkeys(out))


# ---------------------------------------------------------------------------------------------
# the REST API


class EncodeClient:
    """GETs against the ENCODE portal: searches and linked objects (cached), spaced and retried."""

    def __init__(self, base_url: str, *, policy: RetryPolicy = RetryPolicy(),
                 timeout: float = 60.0, min_interval: float = 0.1) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy, self.timeout, self.min_interval = policy, timeout, min_interval
        self._objects: dict[str, dict] = {}
        self._last = 0.0
        self._lock = threading.Lock()
        self.requests = 0

    def _get(self, path: str, params: list[tuple[str, str]], allow_empty: bool = False) -> dict:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        with self._lock:
            pause = self._last + self.min_interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self._last = time.monotonic()
            self.requests += 1
        status, body = fetch(url, policy=self.policy, timeout=self.timeout,
                             headers={"Accept": "application/json"}, allow_not_found=allow_empty)
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(f"{url}: the answer is not JSON (HTTP {status}); is --encode_url an ENCODE portal?") from None
        if status == 404:
            if isinstance(data, dict) and data.get("notification") == "No results found":
                return {"@graph": [], "total": 0}
            raise InputError(f"{url}: HTTP 404 ({data.get('notification') or data.get('detail') or 'not found'})")
        if not isinstance(data, dict):
            raise InputError(f"{url}: expected a JSON object")
        return data

    def search(self, params: list[tuple[str, str]]) -> list[dict]:
        """All hits of a search (`limit=all`, whole objects); none is an empty list."""
        query = list(params) + [("frame", "object"), ("format", "json"), ("limit", "all")]
        data = self._get("/search/", query, allow_empty=True)
        graph = data.get("@graph", [])
        total = data.get("total")
        if isinstance(total, int) and total > len(graph):
            log.warning("ENCODE search returned %d of %d hits", len(graph), total)
        return [hit for hit in graph if isinstance(hit, dict)]

    def get_object(self, ref: str | dict) -> dict:
        """A linked object: a dict (already embedded) as it is, an @id fetched once (frame=object)."""
        if isinstance(ref, dict):
            return ref
        if not isinstance(ref, str) or not ref.startswith("/"):
            raise InputError(f"ENCODE: {ref!r} is not an object link")
        if ref not in self._objects:
            self._objects[ref] = self._get(ref, [("frame", "object"), ("format", "json")])
        return self._objects[ref]

    def url(self, href: str) -> str:
        """The absolute URL of an href, its path percent-encoded: a URL then holds no character that a samplesheet
        (',' between columns, ';' between lanes) or a shell would read as syntax."""
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(self.base_url + "/", href))
        path = urllib.parse.quote(urllib.parse.unquote(parts.path), safe="/@:+=-._~")
        return urllib.parse.urlunsplit(parts._replace(path=path))


def _link_id(ref: Any) -> str:
    if isinstance(ref, dict):
        return str(ref.get("@id", ""))
    return str(ref or "")


def _accession_of(ref: Any) -> str:
    """accession of an object or of a link such as /human-donors/ENCDO000AAA/."""
    if isinstance(ref, dict):
        return str(ref.get("accession") or _link_id(ref).rstrip("/").rsplit("/", 1)[-1])
    return str(ref or "").rstrip("/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# experiments


@dataclass
class Experiment:
    id: str
    accession: str
    assay_title: str
    term_name: str
    classification: str
    term_id: str
    replicates: list
    donors: dict[int, set[str]] | None = None  # biological replicate -> donor accessions

    @property
    def all_donors(self) -> set[str]:
        return set().union(*self.donors.values()) if self.donors else set()


def find_experiments(client: EncodeClient, assay_titles: Iterable[str], options: Options) -> list[Experiment]:
    titles = tuple(assay_titles)
    params = [("type", "Experiment"), ("status", "released"), ("perturbed", "false"),
              ("replicates.library.biosample.donor.organism.scientific_name", options.organism)]
    params += [("assay_title", title) for title in titles]
    params += [("biosample_ontology.classification", c) for c in options.classifications]
    params += [("biosample_ontology.term_name", b) for b in options.biosamples]
    experiments = []
    for hit in client.search(params):
        accession = hit.get("accession", "?")
        if hit.get("status") != "released" or hit.get("perturbed") is True or hit.get("assay_title") not in titles:
            log.debug("%s: skipped (status %s, perturbed %s, assay %s)", accession, hit.get("status"), hit.get("perturbed"), hit.get("assay_title"))
            continue
        if hit.get("biosample_ontology"):
            ontology = client.get_object(hit["biosample_ontology"])
            term_name, classification = ontology.get("term_name"), ontology.get("classification")
            term_id = ontology.get("term_id", "")
        else:  # older objects
            term_name, classification, term_id = hit.get("biosample_term_name"), hit.get("biosample_type"), hit.get("biosample_term_id", "")
        if not term_name or not classification:
            log.warning("%s: no biosample term name or classification; skipped", accession)
            continue
        if options.classifications and classification not in options.classifications:
            continue
        if options.biosamples and term_name not in options.biosamples:
            continue
        experiments.append(Experiment(
            id=_link_id(hit.get("@id")) or f"/experiments/{accession}/", accession=accession,
            assay_title=hit.get("assay_title", ""), term_name=term_name, classification=classification,
            term_id=term_id or "", replicates=list(hit.get("replicates") or []),
        ))
    return sorted(experiments, key=lambda e: e.accession)


def resolve_donors(client: EncodeClient, experiment: Experiment) -> dict[int, set[str]]:
    """biological replicate number -> donor accessions (replicate -> library -> biosample -> donor)."""
    if experiment.donors is not None:
        return experiment.donors
    donors: dict[int, set[str]] = {}
    for ref in experiment.replicates:
        replicate = client.get_object(ref)
        if replicate.get("status") in ("deleted", "revoked"):
            continue
        number = replicate.get("biological_replicate_number")
        library = client.get_object(replicate["library"]) if replicate.get("library") else {}
        biosample = client.get_object(library["biosample"]) if library.get("biosample") else {}
        if number is None or not biosample.get("donor"):
            continue
        donors.setdefault(int(number), set()).add(_accession_of(biosample["donor"]))
    experiment.donors = donors
    return donors


def perturbed_biosamples(client: EncodeClient, experiment: Experiment) -> list[str]:
    """Accessions of the experiment's biosamples that are perturbed (genetically modified, e.g. CRISPR knock-downs,
    or treated), read from the biosamples themselves: the search's perturbed=false is not trusted alone."""
    found = []
    for ref in experiment.replicates:
        replicate = client.get_object(ref)
        if replicate.get("status") in ("deleted", "revoked"):
            continue
        library = client.get_object(replicate["library"]) if replicate.get("library") else {}
        biosample = client.get_object(library["biosample"]) if library.get("biosample") else {}
        if biosample.get("perturbed") is True or biosample.get("genetic_modifications") or biosample.get("treatments"):
            found.append(str(biosample.get("accession", "?")))
    return sorted(set(found))


# ---------------------------------------------------------------------------------------------
# files


def fetch_files(client: EncodeClient, experiments: list[Experiment], extra: list[tuple[str, str]]) -> dict[str, list[dict]]:
    """The files of the experiments (by experiment @id), FILES_PER_SEARCH experiments per search."""
    by_experiment: dict[str, list[dict]] = {e.id: [] for e in experiments}
    ids = sorted(by_experiment)
    for i in range(0, len(ids), FILES_PER_SEARCH):
        params = [("type", "File")] + [("dataset", eid) for eid in ids[i : i + FILES_PER_SEARCH]] + extra
        for item in client.search(params):
            dataset = _link_id(item.get("dataset"))
            if dataset in by_experiment:
                by_experiment[dataset].append(item)
    return by_experiment


def unusable_reason(item: dict) -> str | None:
    """Why a file cannot be used, or None."""
    if item.get("status") != "released":
        return f"status {item.get('status')}"
    if item.get("restricted"):
        return "restricted"
    if item.get("no_file_available"):
        return "no file available"
    if not item.get("href"):
        return "no href"
    if not item.get("md5sum") or item.get("file_size") is None:
        return "no md5sum or file_size"
    try:
        name_from_url(str(item["href"]))
    except InputError as err:
        return str(err)
    return None


def choose_peaks(files: list[dict], output_type: str | None, assembly: str = PEAK_ASSEMBLY) -> tuple[dict | None, str]:
    """(the peak file, its reason) or (None, why none)."""
    candidates = []
    for item in files:
        if item.get("file_type") != PEAK_FILE_TYPE:
            continue
        if item.get("assembly") != assembly:
            log.debug("%s: skipped (assembly %s)", item.get("accession"), item.get("assembly"))
            continue
        reason = unusable_reason(item)
        if reason:
            log.debug("%s: skipped (%s)", item.get("accession"), reason)
            continue
        candidates.append(item)
    if output_type:
        chosen, why = [f for f in candidates if f.get("output_type") == output_type], f"output_type {output_type}"
    else:
        chosen, why = [f for f in candidates if f.get("preferred_default") is True], "preferred_default"
        if not chosen:
            chosen, why = [f for f in candidates if f.get("output_type") == FALLBACK_PEAK_OUTPUT_TYPE], f"output_type {FALLBACK_PEAK_OUTPUT_TYPE}"
    if not chosen:
        return None, f"no released {assembly} {PEAK_FILE_TYPE} file with {why}"
    chosen.sort(key=lambda f: (-len(f.get("biological_replicates") or []), str(f.get("accession"))))
    return chosen[0], why


@dataclass
class Lane:
    r1: dict
    r2: dict | None = None


def replicate_lanes(files: list[dict], experiment: str = "") -> dict[int, list[Lane]]:
    """Usable FASTQ reads of one experiment: biological replicate -> lanes (R1[, R2])."""
    reads = []
    for item in files:
        if item.get("file_format") != "fastq" or item.get("output_type") != "reads":
            continue
        reason = unusable_reason(item)
        if reason:
            log.info("%s: FASTQ %s skipped (%s)", experiment, item.get("accession"), reason)
            continue
        reads.append(item)
    by_id = {_link_id(f.get("@id")): f for f in reads}
    per_replicate: dict[int, list[dict]] = {}
    for item in reads:
        reps = item.get("biological_replicates") or []
        if len(reps) != 1:
            log.warning("%s: FASTQ %s belongs to biological replicates %s, not to one; skipped", experiment, item.get("accession"), reps)
            continue
        per_replicate.setdefault(int(reps[0]), []).append(item)

    lanes: dict[int, list[Lane]] = {}
    for rep, items in sorted(per_replicate.items()):
        paired = [f for f in items if f.get("run_type") == "paired-ended" or f.get("paired_end") in ("1", "2")]
        single = [f for f in items if f not in paired]
        rep_lanes: list[Lane] = []
        used: set[str] = set()
        for r1 in (f for f in paired if f.get("paired_end") == "1"):
            mate = by_id.get(_link_id(r1.get("paired_with")))
            if mate is None or mate not in paired or mate.get("paired_end") != "2":
                mate = next((f for f in paired if f.get("paired_end") == "2" and _link_id(f.get("paired_with")) == _link_id(r1.get("@id"))), None)
            if mate is None:
                log.warning("%s rep %d: R1 %s has no usable mate (paired_with %s); lane skipped", experiment, rep, r1.get("accession"),
                            _link_id(r1.get("paired_with")) or "-")
                continue
            used.update({_link_id(r1.get("@id")), _link_id(mate.get("@id"))})
            rep_lanes.append(Lane(r1, mate))
        for orphan in (f for f in paired if _link_id(f.get("@id")) not in used and f.get("paired_end") != "1"):
            log.warning("%s rep %d: R2 %s has no usable R1; skipped", experiment, rep, orphan.get("accession"))
        if rep_lanes and single:
            log.warning("%s rep %d: both paired- and single-ended FASTQs; the %d single-ended ones are not used", experiment, rep, len(single))
        if not rep_lanes:
            rep_lanes = [Lane(f) for f in single]
        if rep_lanes:
            rep_lanes.sort(key=lambda lane: (sorted(lane.r1.get("technical_replicates") or []), str(lane.r1.get("accession"))))
            lanes[rep] = rep_lanes
    return lanes


def _annotation_rank(item: dict) -> tuple[int, str]:
    """Newest GENCODE first: V29 > V24 (human), M21 > M4 (mouse); an unknown annotation last."""
    text = str(item.get("genome_annotation") or "")
    number = int(text[1:]) if text[:1] in ("V", "M") and text[1:].isdigit() else -1
    return -number, str(item.get("accession"))


def replicate_quantifications(files: list[dict], assembly: str, experiment: str = "") -> dict[int, dict]:
    """Each biological replicate's gene quantifications file: released, of `assembly`, the newest GENCODE annotation."""
    per_replicate: dict[int, list[dict]] = {}
    for item in files:
        if item.get("output_type") != QUANTIFICATION_OUTPUT_TYPE or item.get("file_format") != QUANTIFICATION_FORMAT:
            continue
        if item.get("assembly") != assembly:
            log.debug("%s: gene quantifications %s skipped (assembly %s)", experiment, item.get("accession"), item.get("assembly"))
            continue
        reason = unusable_reason(item)
        if reason:
            log.info("%s: gene quantifications %s skipped (%s)", experiment, item.get("accession"), reason)
            continue
        reps = item.get("biological_replicates") or []
        if len(reps) != 1:
            log.info("%s: gene quantifications %s pool biological replicates %s; skipped", experiment, item.get("accession"), reps)
            continue
        per_replicate.setdefault(int(reps[0]), []).append(item)
    return {rep: sorted(items, key=_annotation_rank)[0] for rep, items in sorted(per_replicate.items())}


# ---------------------------------------------------------------------------------------------
# samples


@dataclass
class Sample:
    id: str
    term_name: str
    classification: str
    term_id: str
    donor: str  # the group's donor (donor matching) or the RNA replicate's donors
    atac: Experiment
    peaks: dict
    peaks_reason: str
    rna: Experiment
    replicate: int
    lanes: list[Lane]  # no lanes with gene quantifications
    quantification: dict | None = None

    @property
    def run_type(self) -> str:
        if not self.lanes:
            return ""
        return "paired-ended" if self.lanes[0].r2 is not None else "single-ended"


@dataclass
class Selection:
    samples: list[Sample] = field(default_factory=list)
    atac_experiments: int = 0
    rna_experiments: int = 0
    atac_only: int = 0  # groups (biosamples, or biosample x donor) with ATAC-seq but no RNA-seq
    rna_only: int = 0
    without_files: int = 0  # matched groups dropped for lack of usable peaks or FASTQs
    matched: int = 0  # matched groups kept


GroupKey = tuple[str, str, str]  # term_name, classification, donor ('' for biosample matching)


def _group(client: EncodeClient, atac: list[Experiment], rna: list[Experiment], match_by: str
           ) -> tuple[dict[GroupKey, list[Experiment]], dict[GroupKey, list[tuple[Experiment, int | None]]]]:
    """Experiments by group; RNA-seq as (experiment, biological replicate or None = all)."""
    atac_groups: dict[GroupKey, list[Experiment]] = {}
    rna_groups: dict[GroupKey, list[tuple[Experiment, int | None]]] = {}
    if match_by == "biosample":
        for e in atac:
            atac_groups.setdefault((e.term_name, e.classification, ""), []).append(e)
        for e in rna:
            rna_groups.setdefault((e.term_name, e.classification, ""), []).append((e, None))
        return atac_groups, rna_groups
    for e in atac:
        donors = resolve_donors(client, e)
        every = e.all_donors
        if len(every) != 1:
            log.info("%s (ATAC-seq, %s): replicates from %d donors; not usable for --match_by donor", e.accession, e.term_name, len(every))
            continue
        atac_groups.setdefault((e.term_name, e.classification, every.pop()), []).append(e)
    for e in rna:
        for rep, donors in sorted(resolve_donors(client, e).items()):
            if len(donors) != 1:
                log.info("%s (RNA-seq) rep %d: %d donors; skipped for --match_by donor", e.accession, rep, len(donors))
                continue
            rna_groups.setdefault((e.term_name, e.classification, next(iter(donors))), []).append((e, rep))
    return atac_groups, rna_groups


def select_samples(client: EncodeClient, options: Options) -> Selection:
    """Everything the samplesheet needs, plus the counts of what was dropped."""
    result = Selection()
    atac = find_experiments(client, [ATAC_ASSAY_TITLE], options)
    rna = find_experiments(client, options.rna_assay_titles, options)
    result.atac_experiments, result.rna_experiments = len(atac), len(rna)
    log.info("ENCODE: %d ATAC-seq and %d RNA-seq experiments (%s) found", len(atac), len(rna), ", ".join(options.rna_assay_titles))

    atac_groups, rna_groups = _group(client, atac, rna, options.match_by)
    result.atac_only = len(atac_groups.keys() - rna_groups.keys())
    result.rna_only = len(rna_groups.keys() - atac_groups.keys())
    unit = "biosamples" if options.match_by == "biosample" else "biosample x donor groups"
    if result.atac_only or result.rna_only:
        log.info("dropped %d %s with ATAC-seq only and %d with RNA-seq only", result.atac_only, unit, result.rna_only)
    matched = sorted(atac_groups.keys() & rna_groups.keys(), key=lambda k: (k[0].lower(), k[0], k[1], k[2]))

    used_ids: set[str] = set()  # lower case: ids may not differ only in case
    for start in range(0, len(matched), GROUPS_PER_ROUND):
        if options.max_biosamples and result.matched >= options.max_biosamples:
            break
        keys = matched[start : start + GROUPS_PER_ROUND]
        atac_exps = {e.id: e for k in keys for e in atac_groups[k]}
        rna_exps = {e.id: e for k in keys for e, _ in rna_groups[k]}
        peak_files = fetch_files(client, list(atac_exps.values()), [("file_type", PEAK_FILE_TYPE)])
        if options.expression == "quantifications":
            rna_files = fetch_files(client, list(rna_exps.values()), [("output_type", QUANTIFICATION_OUTPUT_TYPE),
                                                                       ("file_format", QUANTIFICATION_FORMAT)])
        else:
            rna_files = fetch_files(client, list(rna_exps.values()), [("file_format", "fastq"), ("output_type", "reads")])
        for key in keys:
            if options.max_biosamples and result.matched >= options.max_biosamples:
                break
            samples = _group_samples(client, key, atac_groups[key], rna_groups[key], peak_files, rna_files, options, used_ids)
            if samples:
                result.matched += 1
                result.samples.extend(samples)
            else:
                result.without_files += 1
    if result.without_files:
        log.info("dropped %d matched %s without usable peaks or FASTQs", result.without_files, unit)
    log.info("%d samples from %d %s", len(result.samples), result.matched, unit)
    return result


def _perturbed(client: EncodeClient, experiment: Experiment, label: str) -> bool:
    biosamples = perturbed_biosamples(client, experiment)
    if biosamples:
        log.info("%s: %s %s not used: perturbed biosample(s) %s", label, experiment.assay_title, experiment.accession, ", ".join(biosamples))
    return bool(biosamples)


def _group_samples(client: EncodeClient, key: GroupKey, atac: list[Experiment], rna: list[tuple[Experiment, int | None]],
                   peak_files: dict[str, list[dict]], fastq_files: dict[str, list[dict]], options: Options,
                   used_ids: set[str]) -> list[Sample]:
    term_name, classification, donor = key
    label = f"{term_name} ({classification}{', donor ' + donor if donor else ''})"
    chosen: tuple[Experiment, dict, str] | None = None
    atac = [e for e in atac if not _perturbed(client, e, label)]
    rna = [(e, rep) for e, rep in rna if not _perturbed(client, e, label)]
    for experiment in sorted(atac, key=lambda e: e.accession):
        peaks, reason = choose_peaks(peak_files.get(experiment.id, []), options.peak_output_type, options.assembly)
        if peaks is None:
            log.info("%s: ATAC-seq %s not used: %s", label, experiment.accession, reason)
            continue
        chosen = (experiment, peaks, reason)
        break
    if chosen is None:
        log.info("%s: dropped, no usable ATAC-seq peaks", label)
        return []
    atac_exp, peaks, reason = chosen

    per_experiment: list[tuple[Experiment, int, list[Lane], dict | None]] = []
    for experiment, only_rep in sorted(rna, key=lambda pair: (pair[0].accession, pair[1] or 0)):
        files = fastq_files.get(experiment.id, [])
        if options.expression == "quantifications":
            found = {rep: ([], item) for rep, item in replicate_quantifications(files, options.assembly, experiment.accession).items()}
        else:
            found = {rep: (lanes, None) for rep, lanes in replicate_lanes(files, experiment.accession).items()}
        for rep, (lanes, quantification) in found.items():
            if only_rep is None or rep == only_rep:
                per_experiment.append((experiment, rep, lanes, quantification))
    if not per_experiment:
        what = f"{options.assembly} gene quantifications" if options.expression == "quantifications" else "FASTQs"
        log.info("%s: dropped, no usable RNA-seq %s", label, what)
        return []
    several = len({e.accession for e, _, _, _ in per_experiment}) > 1

    samples = []
    for experiment, rep, lanes, quantification in per_experiment:
        parts = [term_name] + ([donor] if donor else []) + ([experiment.accession] if several else []) + [f"rep{rep}"]
        sample_id = make_sample_id(parts, used_ids)  # the pipeline's one sample-id rule
        if donor:
            rna_donor = donor
        else:
            rna_donor = ";".join(sorted(resolve_donors(client, experiment).get(rep, set())))
        samples.append(Sample(sample_id, term_name, classification, atac_exp.term_id, rna_donor, atac_exp, peaks, reason,
                              experiment, rep, lanes, quantification))
    return samples


# ---------------------------------------------------------------------------------------------
# outputs


def _joined(values: Iterable[Any]) -> str:
    return lane_separator().join(str(v) for v in values)


def samplesheet_rows(samples: list[Sample], client: EncodeClient) -> list[dict[str, str]]:
    rows = []
    for s in samples:
        r2s = [lane.r2 for lane in s.lanes if lane.r2 is not None]
        read_lengths = sorted({int(f["read_length"]) for lane in s.lanes for f in (lane.r1, lane.r2) if f and f.get("read_length") is not None})
        rows.append({
            "sample": s.id,
            "fastq_1": _joined(client.url(lane.r1["href"]) for lane in s.lanes),
            "fastq_2": _joined(client.url(f["href"]) for f in r2s),
            "peaks": client.url(s.peaks["href"]),
            "fastq_1_md5": _joined(lane.r1["md5sum"] for lane in s.lanes),
            "fastq_1_size": _joined(lane.r1["file_size"] for lane in s.lanes),
            "fastq_2_md5": _joined(f["md5sum"] for f in r2s),
            "fastq_2_size": _joined(f["file_size"] for f in r2s),
            "peaks_md5": s.peaks["md5sum"],
            "peaks_size": str(s.peaks["file_size"]),
            "run_type": s.run_type,
            "read_length": _joined(read_lengths),
            "fragment_length": "",
            "expression": client.url(s.quantification["href"]) if s.quantification else "",
            "expression_md5": s.quantification["md5sum"] if s.quantification else "",
            "expression_size": str(s.quantification["file_size"]) if s.quantification else "",
        })
    return rows


def provenance_rows(samples: list[Sample], client: EncodeClient, match_by: str) -> list[dict[str, str]]:
    rows = []
    for s in samples:
        atac_donors = ";".join(sorted(set().union(*resolve_donors(client, s.atac).values())))
        rows.append({
            "sample": s.id, "biosample_term_name": s.term_name, "biosample_classification": s.classification,
            "biosample_term_id": s.term_id, "match_by": match_by, "rna_donor": s.donor, "atac_donors": atac_donors,
            "atac_experiment": s.atac.accession, "peaks_file": s.peaks.get("accession", ""),
            "peaks_output_type": s.peaks.get("output_type", ""), "rna_experiment": s.rna.accession,
            "rna_assay_title": s.rna.assay_title, "biological_replicate": str(s.replicate),
            "fastq_1_files": _joined(lane.r1.get("accession", "") for lane in s.lanes),
            "fastq_2_files": _joined(lane.r2.get("accession", "") for lane in s.lanes if lane.r2 is not None),
            "run_type": s.run_type,
            "read_length": _joined(sorted({int(f["read_length"]) for lane in s.lanes for f in (lane.r1, lane.r2) if f and f.get("read_length") is not None})),
            "quantification_file": s.quantification.get("accession", "") if s.quantification else "",
            "genome_annotation": s.quantification.get("genome_annotation", "") if s.quantification else "",
        })
    return rows


def write_table(rows: list[dict[str, str]], columns: list[str], path: str | Path, delimiter: str = ",") -> None:
    with atomic_output(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=delimiter, lineterminator="\n", extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)


def download_plan(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
    """(downloads, local samplesheet rows, quantifications) of the samplesheet rows above: every distinct URL once,
    named file_<n><suffix> in URL order; the samplesheet that names those files (relative to where they are put: the
    'reads' layout, or 'peaks' when the rows hold gene quantifications); and sample, file, source of each sample's
    gene quantifications (none with FASTQs)."""
    separator = lane_separator()
    wanted: dict[str, dict[str, str]] = {}
    for row in rows:
        for column in DOWNLOAD_SUFFIX:
            urls = row[column].split(separator) if row.get(column) else []
            md5s = row[f"{column}_md5"].split(separator) if row.get(f"{column}_md5") else []
            sizes = row[f"{column}_size"].split(separator) if row.get(f"{column}_size") else []
            for lane, url in enumerate(urls):
                wanted.setdefault(url, {"url": url, "md5": md5s[lane] if lane < len(md5s) else "",
                                        "size": sizes[lane] if lane < len(sizes) else "", "suffix": DOWNLOAD_SUFFIX[column]})
    names = {url: f"file_{n}{wanted[url]['suffix']}" for n, url in enumerate(sorted(wanted), start=1)}
    downloads = [{"name": names[url], "url": url, "md5": wanted[url]["md5"], "size": wanted[url]["size"]} for url in sorted(wanted)]
    quantified = any(row.get("expression") for row in rows)
    layout = samplesheet_columns("peaks" if quantified else "reads")
    local = [{column: separator.join(names[url] for url in row[column].split(separator)) if row[column] else ""
              for column in layout if column != "sample"} | {"sample": row["sample"]} for row in rows]
    quantifications = [{"sample": row["sample"], "file": names[row["expression"]], "source": row["expression"]}
                       for row in rows if row.get("expression")]
    return downloads, local, quantifications
