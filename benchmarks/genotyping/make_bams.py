"""Write a reproducible set of deep, panel-like BAMs for the genotyping benchmark.

Every BAM covers the same tracked sites with paired cfDNA-sized fragments (mates overlap, as in
plasma). Reads copy a random reference with sequencing errors; some fragments carry the ALT allele;
a share of reads are duplicates, have a low mapping quality or low-quality bases, so every filter
of the counter is exercised. SAM text is piped into `samtools view`, which is much faster than
building pysam objects read by read.
"""

from __future__ import annotations

import argparse
import random
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BASES = "ACGT"
CONTIGS = {f"chr{n}": 400_000 for n in (1, 7, 12, 17)}
READ_LENGTH = 150


def write_reference(out: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    fasta = out / "reference.fa"
    with open(fasta, "w") as handle:
        for name, length in CONTIGS.items():
            sequence = "".join(rng.choice(BASES) for _ in range(length))
            handle.write(f">{name}\n")
            for start in range(0, length, 60):
                handle.write(sequence[start : start + 60] + "\n")
    subprocess.run(["samtools", "faidx", str(fasta)], check=True)
    return fasta


def read_reference(fasta: Path) -> dict[str, str]:
    sequences, name = {}, None
    for line in open(fasta):
        if line.startswith(">"):
            name = line[1:].strip()
            sequences[name] = []
        else:
            sequences[name].append(line.strip())
    return {key: "".join(parts) for key, parts in sequences.items()}


def choose_sites(reference: dict[str, str], n_sites: int, n_indels: int, seed: int = 11) -> list[tuple]:
    """(chrom, pos 1-based, ref, alt), SNVs first then alternating deletions and insertions, 2 kb apart or more."""
    rng = random.Random(seed)
    contigs = list(reference)
    sites = []
    for index in range(n_sites):
        chrom = contigs[index % len(contigs)]
        pos = 2_000 + (index // len(contigs)) * 3_000 + rng.randrange(1_000)
        anchor = reference[chrom][pos - 1]
        kind = "snv" if index < n_sites - n_indels else ("del", "ins")[index % 2]
        if kind == "snv":
            sites.append((chrom, pos, anchor, rng.choice([b for b in BASES if b != anchor])))
        elif kind == "del":
            sites.append((chrom, pos, reference[chrom][pos - 1 : pos + 2], anchor))
        else:
            sites.append((chrom, pos, anchor, anchor + "".join(rng.choice(BASES) for _ in range(2))))
    return sorted(sites, key=lambda site: (contigs.index(site[0]), site[1]))


def _substitute(sequence: list, rng: random.Random):
    offset = rng.randrange(len(sequence))
    sequence[offset] = rng.choice([b for b in BASES if b != sequence[offset]])


def _read_for(fragment_ref: str, allele_edit, rng, error: bool):
    """(sequence, cigar) of the whole fragment as one read; `allele_edit` carries the ALT."""
    sequence = list(fragment_ref)
    cigar = [("M", len(sequence))]
    if allele_edit:
        kind, offset, payload = allele_edit
        if kind == "snv":
            sequence[offset] = payload
        elif kind == "del":
            del sequence[offset + 1 : offset + 1 + payload]
            cigar = [("M", offset + 1), ("D", payload), ("M", len(sequence) - offset - 1)]
        else:
            sequence[offset + 1 : offset + 1] = list(payload)
            cigar = [("M", offset + 1), ("I", len(payload)), ("M", len(sequence) - offset - 1 - len(payload))]
    if error:
        _substitute(sequence, rng)
    return "".join(sequence), cigar


def _trim(sequence: str, cigar, keep: int, from_end: bool):
    """Keep `keep` query bases from the start (or end) of a read; return (seq, cigar, ref_offset)."""
    if len(cigar) == 1:  # the common case: no indel in the fragment
        ref_offset = len(sequence) - keep if from_end else 0
        return sequence[ref_offset : ref_offset + keep], [("M", keep)], ref_offset
    if from_end:
        rev_seq, rev_cigar, _ = _trim(sequence[::-1], cigar[::-1], keep, False)
        ref_total = sum(n for op, n in cigar if op in "MD")
        ref_kept = sum(n for op, n in rev_cigar if op in "MD")
        return rev_seq[::-1], rev_cigar[::-1], ref_total - ref_kept
    out, query = [], 0
    for op, length in cigar:
        if query >= keep:
            break
        if op == "D":
            out.append((op, length))
            continue
        take = min(length, keep - query)
        out.append((op, take))
        query += take
    while out and out[-1][0] != "M":  # a read does not end inside an indel
        out.pop()
    query_len = sum(n for op, n in out if op in "MI")
    return sequence[:query_len], out, 0


def fragments_for_site(site, reference, n_fragments: int, vaf: float, rng: random.Random, error_rate: float):
    chrom, pos, ref, alt = site
    contig = reference[chrom]
    lines = []
    # Q37 with 3% of bases at Q10; a pool of strings keeps generation fast
    qualities = ["".join("+" if rng.random() < 0.03 else "F" for _ in range(READ_LENGTH + 10)) for _ in range(200)]
    for index in range(n_fragments):
        length = max(110, min(260, int(rng.gauss(167, 25))))
        start = pos - 1 - rng.randrange(5, length - 8)  # the site lies inside the fragment
        fragment_ref = contig[start : start + length]
        offset = pos - 1 - start
        edit = None
        if rng.random() < vaf:
            if len(ref) == len(alt):
                edit = ("snv", offset, alt)
            elif len(ref) > len(alt):
                edit = ("del", offset, len(ref) - len(alt))
            else:
                edit = ("ins", offset, alt[1:])
        # at most one sequencing error per fragment, with probability 1-(1-e)^L (close for small e)
        error = rng.random() < 1 - (1 - error_rate) ** length
        if edit is None and not error:
            sequence, cigar = fragment_ref, [("M", length)]  # the common case, kept fast
        else:
            sequence, cigar = _read_for(fragment_ref, edit, rng, error)
        name = f"{chrom}_{pos}_{index}"
        duplicate = rng.random() < 0.08
        mapq = 60 if rng.random() > 0.02 else 4
        keep = min(READ_LENGTH, len(sequence))
        for mate, from_end in ((1, False), (2, True)):
            seq, read_cigar, ref_offset = _trim(sequence, cigar, keep, from_end)
            quals = qualities[rng.randrange(200)][: len(seq)]
            flag = 1 | 2 | (64 if mate == 1 else 128) | (32 if mate == 1 else 16) | (1024 if duplicate else 0)
            cigar_text = "".join(f"{n}{op}" for op, n in read_cigar)
            lines.append((start + ref_offset, f"{name}\t{flag}\t{chrom}\t{start + ref_offset + 1}\t{mapq}\t{cigar_text}"
                          f"\t=\t{start + 1}\t0\t{''.join(seq)}\t{quals}"))  # fmt: skip
    lines.sort(key=lambda item: item[0])
    return [line for _, line in lines]


def write_bam(path: Path, sites, reference, depth: int, seed: int, error_rate: float = 1e-3):
    rng = random.Random(seed)
    header = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{n}\tLN:{len(s)}\n" for n, s in reference.items())
    header += f"@RG\tID:rg{seed}\tSM:draw{seed}\n"
    process = subprocess.Popen(["samtools", "view", "-b", "-o", str(path), "-"], stdin=subprocess.PIPE, text=True)
    process.stdin.write(header)
    for site in sites:
        vaf = rng.choice([0.0, 0.0, 0.002, 0.01, 0.05, 0.3])
        process.stdin.write("\n".join(fragments_for_site(site, reference, depth // 2, vaf, rng, error_rate)) + "\n")
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit(f"samtools view failed writing {path}")
    subprocess.run(["samtools", "index", str(path)], check=True)


def _write_one(task):
    path, sites, fasta, depth, seed = task
    if not Path(str(path) + ".bai").exists():  # finished files are reused
        write_bam(path, sites, read_reference(fasta), depth, seed)
    return path


def make_dataset(out: Path, n_bams: int, n_sites: int, n_indels: int, depth: int, jobs: int = 1) -> tuple[Path, list, list[Path]]:
    out.mkdir(parents=True, exist_ok=True)
    fasta = out / "reference.fa"
    if not (out / "reference.fa.fai").exists():
        write_reference(out)
    sites = choose_sites(read_reference(fasta), n_sites, n_indels)
    tasks = [(out / f"draw{i:04d}_d{depth}_s{n_sites}_i{n_indels}.bam", sites, fasta, depth, 1000 + i) for i in range(n_bams)]
    with ProcessPoolExecutor(jobs) as pool:
        bams = list(pool.map(_write_one, tasks))
    return fasta, sites, bams


def dataset_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--out", type=Path, default=Path("benchmarks/genotyping/out"))
    parser.add_argument("--bams", type=int, default=200)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--indels", type=int, default=10)
    parser.add_argument("--depth", type=int, default=5000, help="reads (not fragments) over each site")
    parser.add_argument("--jobs", type=int, default=2, help="processes writing BAMs")
    return parser


def main():
    args = dataset_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0])).parse_args()
    make_dataset(args.out, args.bams, args.sites, args.indels, args.depth, args.jobs)


if __name__ == "__main__":
    main()
