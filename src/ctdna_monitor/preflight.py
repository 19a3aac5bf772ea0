"""Pre-flight check of every file the sample sheet names, before any job uses one.

For each draw's `vcf` (and `bam`, when given): the file exists, is a regular readable file, is what its
content and name say (VCF/VCF.gz/BCF, BAM/CRAM), is complete, declares contig lengths of `genome_build`
when its header has any (VCFs as well as BAM/CRAM), and is not the same file as another draw's (same path
or inode, or equal SHA-256 content; equal copies of a VCF without records carry no counts and are let
through) unless both rows name different `vcf_sample` columns of it. Every problem is returned, one per
file and cause, so that all can be listed together.

The facts about a file (filecheck.inspect) are cached by path, size, modification time and inode in a
JSON file, so a rerun or a dry run only inspects new or changed files; a checksum is computed only for
files that share their size with another draw's file, and cached the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .filecheck import FileFacts, has_records, inspect
from .genome_builds import check_build

CACHE_VERSION = 2
CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    row: int  # data row of the sample sheet (1-based, header excluded)
    sample: str
    patient: str
    column: str
    path: str
    message: str

    def line(self, sheet) -> str:
        return f"{sheet}, row {self.row}, column '{self.column}' (draw {self.sample}): {self.path}: {self.message}"


class FactCache:
    """File facts and checksums by absolute path, valid while size, mtime and inode are unchanged."""

    def __init__(self, path=None):
        self.path = Path(path) if path else None
        self.entries: dict[str, list] = {}
        self.changed = False
        if self.path and self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict) and data.get("version") == CACHE_VERSION and isinstance(data.get("files"), dict):
                self.entries = data["files"]
        self.seen: set[str] = set()  # paths of this run: only these are kept when saving
        self.inspected = 0  # files looked at in this run (not from the cache)
        self.hashed = 0

    def _entry(self, path: str, info: os.stat_result) -> list:
        key = [info.st_size, info.st_mtime_ns, info.st_ino]
        self.seen.add(path)
        entry = self.entries.get(path)
        if entry is None or entry[:3] != key:
            entry = [*key, None, None]  # facts, sha256
            self.entries[path] = entry
            self.changed = True
        return entry

    def facts(self, path: str, info: os.stat_result, column: str) -> FileFacts:
        entry = self._entry(path, info)
        if entry[3] is None or entry[3][0] != column:
            self.inspected += 1
            try:
                facts = inspect(path, column)
            except (OSError, ValueError, EOFError) as exc:  # a read error (I/O error, removed meanwhile): not cached
                reason = getattr(exc, "strerror", None) or exc
                return FileFacts("unreadable", [f"the file cannot be read ({reason}): check the file"])
            entry[3] = [column, facts.kind, facts.problems, facts.lengths, facts.indexed]
            self.changed = True
        return FileFacts(*entry[3][1:])

    def sha256(self, path: str, info: os.stat_result) -> str:
        entry = self._entry(path, info)
        if entry[4] is None:
            self.hashed += 1
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
            entry[4] = digest.hexdigest()
            self.changed = True
        return entry[4]

    def save(self):
        """Write the entries of this run's files (others are dropped); a cache that cannot be written (a
        read-only or full disk) is only a lost speed-up."""
        if not self.path or not (self.changed or len(self.seen) < len(self.entries)):
            return
        entries = {path: self.entries[path] for path in self.seen}
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"version": CACHE_VERSION, "files": entries}, separators=(",", ":")),
                                 encoding="utf-8")  # fmt: skip
            os.replace(temporary, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            return
        self.entries, self.changed = entries, False


def _stat_problem(path: str) -> tuple[os.stat_result | None, str | None]:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None, ("the file does not exist: check the path (a relative path is relative to the sample "
                      "sheet's folder)")  # fmt: skip
    except OSError as exc:
        return None, f"the file cannot be reached ({exc.strerror}): check the path and the folders' permissions"
    if stat.S_ISDIR(info.st_mode):
        return None, "this is a directory, not a file: name the file inside it"
    if not stat.S_ISREG(info.st_mode):
        return None, "this is not a regular file (a pipe or a device?): name the file itself"
    if not os.access(path, os.R_OK, effective_ids=os.access in os.supports_effective_ids):
        return None, "the file cannot be read (permission denied): make it readable (chmod +r) or copy it"
    return info, None


def check_draws(samples, genome_build: str, reference: str = "", cache: FactCache | None = None) -> list[Problem]:
    """Problems with the files of the sample sheet `samples` (inputs.load_samples, sheet order: row i+1)."""
    cache = cache or FactCache()
    problems: list[Problem] = []
    seen: dict[str, list] = {"vcf": [], "bam": []}  # (row, sample, patient, vcf_sample, path, stat) of usable files
    columns = zip(*(samples[name].tolist() for name in ("sample", "patient", "vcf", "vcf_sample", "bam")))
    for row, (sample, patient, vcf, vcf_sample, bam) in enumerate(columns, start=1):
        for column, path in (("vcf", vcf), ("bam", bam)):
            if not path:
                continue
            info, message = _stat_problem(path)
            found = [message] if message else _file_problems(cache.facts(path, info, column), column, genome_build, reference)
            problems.extend(Problem(row, sample, patient, column, path, text) for text in found)
            if info is not None:
                seen[column].append((row, sample, patient, vcf_sample if column == "vcf" else "", path, info))
    for column, files in seen.items():
        problems.extend(_duplicates(files, column, cache))
    cache.save()
    return sorted(problems, key=lambda p: (p.row, p.column))


def _file_problems(facts: FileFacts, column: str, genome_build: str, reference: str) -> list[str]:
    found = list(facts.problems)
    if found:
        return found
    build = check_build(facts.lengths, genome_build) if facts.lengths else None
    if build:
        what = "files" if column == "bam" else "VCFs"
        found.append(f"{build} (header contig lines): use {what} of {genome_build}, or set genome_build to match")
    if column == "bam" and not facts.indexed:
        found.append("no index (.bai/.csi/.crai) found next to it: create one with `samtools index`")
    if facts.kind == "cram" and not reference:
        found.append("a CRAM file needs its reference FASTA: set `reference` in the config")
    return found


def _duplicates(files: list, column: str, cache: FactCache) -> list[Problem]:
    """Rows whose files are the same file (inode) or have the same content; allowed only for VCF rows that
    name different vcf_sample columns. Only files sharing their size with another file are hashed."""
    by_inode: dict[tuple, list] = defaultdict(list)
    for item in files:
        by_inode[(item[5].st_dev, item[5].st_ino)].append(item)
    by_size: dict[int, list] = defaultdict(list)
    for members in by_inode.values():
        by_size[members[0][5].st_size].append(members)
    groups = []  # (how, rows sharing one file or one content)
    for same_size in by_size.values():
        if len(same_size) == 1:
            if len(same_size[0]) > 1:
                groups.append(("is the same file as", same_size[0]))
            continue
        by_digest: dict[str, list] = defaultdict(list)
        for number, members in enumerate(same_size):
            try:
                digest = cache.sha256(members[0][4], members[0][5])
            except OSError:  # cannot be read to the end: its own problem is reported; compared with none
                digest = f"unread-{number}"
            by_digest[digest].append(members)
        for lists in by_digest.values():
            if len(lists) > 1 and column == "vcf" and not has_records(lists[0][0][4]):
                continue  # copies of a VCF without records (a sparse caller with nothing to report) carry no counts
            if len(lists) > 1:
                groups.append(("has the same content (SHA-256) as", [item for members in lists for item in members]))
            elif len(lists[0]) > 1:
                groups.append(("is the same file as", lists[0]))
    problems = []
    hint = ("if the file holds several draws, name each row's column in vcf_sample; otherwise correct the path"
            if column == "vcf" else "each draw needs its own BAM/CRAM; correct the path")  # fmt: skip
    for how, members in groups:
        for item in members:
            clashes = [other for other in members if other is not item and _clash(item, other, column)]
            if clashes:
                others = "; ".join(f"row {o[0]} (draw {o[1]}, {o[4]})" for o in clashes)
                problems.append(Problem(item[0], item[1], item[2], column, item[4], f"{how} {others}: {hint}"))
    return problems


def _clash(a, b, column: str) -> bool:
    if column != "vcf":
        return True
    return not (a[3] and b[3] and a[3] != b[3])


def report_lines(problems: list[Problem], sheet, quarantine: bool) -> list[str]:
    """The message for the user: what happens, then one line per problem (the last line names a file)."""
    draws = sorted({p.sample for p in problems})
    if quarantine:
        head = (f"ctdna-monitor: {len(draws)} draw(s) quarantined (left out of this run) for "
                f"{len(problems)} input problem(s):")  # fmt: skip
    else:
        head = (f"ctdna-monitor input error: {len(problems)} problem(s) with the files of the sample sheet; nothing "
                "was run. Fix these and run again (or set quarantine_bad_draws: true to run without these draws):")  # fmt: skip
    # the problems come last: the user's last line names a file and what to do
    return [head, *(f"  {p.line(sheet)}" for p in problems)]
