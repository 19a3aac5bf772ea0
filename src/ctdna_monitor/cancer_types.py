"""Cancer types as OncoTree codes (`resources/oncotree.tsv`: code, parent, name, aliases).

A patient's `cancer_type` (sample sheet) and a knowledge-base row's `cancer_types` are OncoTree codes;
the table's `aliases` column maps words the knowledge base used before codes (CRC, CLL, melanoma) to
codes. Codes are matched case-insensitively. Two codes are related when one is the other or one of its
ancestors: a row for NSCLC covers a LUAD patient, and a patient recorded only as NSCLC is not ruled out
by a row for LUAD (the finer type may well apply). Unrelated codes mean the evidence is for another
cancer type.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from .errors import InputError
from .knowledgebase import read_versioned_tsv

COLUMNS = ("code", "parent", "name")


class CancerTypes:
    def __init__(self, path):
        rows, self.meta = read_versioned_tsv(path, COLUMNS, "cancer type table")
        self.path = str(Path(path))
        self.version = self.meta.get("version", "unversioned")
        self.parent: dict[str, str] = {}
        self.name: dict[str, str] = {}
        self._lookup: dict[str, str] = {}  # upper-case code or alias -> code
        for number, row in enumerate(rows, start=1):
            code = row["code"].upper()
            if not code or code in self.parent:
                raise InputError(path, f"code '{row['code']}' is empty or listed twice", row=number, column="code")
            self.parent[code], self.name[code] = row["parent"].upper(), row["name"]
            for key in (code, *(a.strip().upper() for a in (row.get("aliases") or "").split(",") if a.strip())):
                if key in self._lookup:
                    raise InputError(path, f"'{key}' names two codes", row=number, column="aliases")
                self._lookup[key] = code
        for number, (code, parent) in enumerate(self.parent.items(), start=1):
            if parent and parent not in self.parent:
                raise InputError(path, f"parent '{parent}' of {code} is not a code of the table", row=number, column="parent")

    def code(self, text: str) -> str | None:
        """The OncoTree code of a code or alias (any case), None when unknown."""
        return self._lookup.get(text.strip().upper())

    def closest(self, text: str) -> str:
        """The known code nearest to `text` (by code, alias or name), as 'CODE (Name)'."""
        wanted = text.strip().upper()
        by_name = {name.upper(): code for code, name in self.name.items()}
        candidates = [*self._lookup, *by_name]
        match = difflib.get_close_matches(wanted, candidates, n=1, cutoff=0.0)
        code = self._lookup.get(match[0]) or by_name[match[0]] if match else "TISSUE"
        return f"{code} ({self.name[code]})"

    def check(self, text: str, path, row, column) -> str:
        """The code of `text`, or a one-line InputError naming the closest code."""
        code = self.code(text)
        if code is None:
            raise InputError(
                path, f"'{text}' is not an OncoTree code of {self.path} ({self.version})", row=row, column=column,
                hint=f"closest: {self.closest(text)}; codes are listed at https://oncotree.mskcc.org",
            )  # fmt: skip
        return code

    def lineage(self, code: str) -> list[str]:
        """The code and its ancestors up to the root."""
        chain, seen = [], set()
        while code and code not in seen:
            chain.append(code)
            seen.add(code)
            code = self.parent.get(code, "")
        return chain

    def related(self, first: str, second: str) -> bool:
        """One code is the other or an ancestor of it."""
        return first in self.lineage(second) or second in self.lineage(first)

    def matches(self, patient_type: str, evidence_types) -> bool:
        """Does evidence for `evidence_types` (codes or aliases; empty = any cancer) apply to a patient
        of `patient_type` (empty = not recorded)? Unknown words never rule a patient out."""
        patient = self.code(patient_type) if patient_type else None
        codes = [self.code(t) for t in evidence_types]
        if patient is None or not codes or None in codes:
            return True
        return any(self.related(patient, code) for code in codes)
