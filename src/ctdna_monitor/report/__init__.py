"""Self-contained, offline HTML report for ctDNA monitoring (research use only).

- `document`: assembles the page (plotly.js embedded once, a Content-Security-Policy that forbids fetching);
- `tables`: the server-rendered overview (counts, alert table, patient index), every input value escaped;
- `patients`: the per-patient data embedded as JSON, from which the page draws the swimmer plot and each
  patient's figure and tables on demand (`client.js`);
- `provenance`: input checksums and run facts.
"""

from .document import NOTICE, render_report
from .provenance import input_checksums
from .text import evidence_html, patient_anchor

__all__ = ["NOTICE", "evidence_html", "input_checksums", "patient_anchor", "render_report"]
