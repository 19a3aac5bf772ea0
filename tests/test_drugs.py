"""Any drug name: the drug table (regimens, checkpoint inhibitors, near misses), cancer types (OncoTree),
and the alerts they allow: unknown therapies and other cancers' evidence raise no resistance alert."""

import re

import pandas as pd
import pytest
from test_alerts import DATES, V600E, cohort

from ctdna_monitor.alerts import (
    AlertParams,
    PatientContext,
    call_alerts,
    monitored_sites,
)
from ctdna_monitor.cancer_types import CancerTypes
from ctdna_monitor.errors import InputError
from ctdna_monitor.knowledgebase import (
    DRUG_COLUMNS,
    KB_COLUMNS,
    DrugTable,
    KnowledgeBase,
    edit_distance,
    near_miss_allowance,
    read_versioned_tsv,
)
from ctdna_monitor.stats import DetectionParams
from ctdna_monitor.timeline import build_timeline

NRAS_G12D = ("chr1", 114716126, "C", "T", "NRAS", "G12D")
KRAS_G12D = ("chr12", 25245350, "C", "T", "KRAS", "G12D")
# real drugs (ATC-DE 2024 substances, resources/drugs.tsv header) that are not in the table: none may be
# taken for a misspelling of a drug that is
OTHER_REAL_DRUGS = [
    "axitinib", "lapatinib", "neratinib", "tucatinib", "olaparib", "niraparib", "rucaparib", "talazoparib",
    "lenvatinib", "trastuzumab", "pertuzumab", "margetuximab", "ramucirumab", "sintilimab",
    "retifanlimab", "sugemalimab", "everolimus", "temsirolimus", "temozolomide", "topotecan", "doxorubicin",
    "epirubicin", "daunorubicin", "idarubicin", "methotrexate", "pralatrexate", "raltitrexed", "eribulin",
    "bortezomib", "carfilzomib", "venetoclax", "rituximab", "obinutuzumab", "azacitidine", "decitabine",
    "cytarabine", "fludarabine", "cladribine", "nintedanib", "mobocertinib", "amivantamab", "necitumumab",
    "vandetanib", "cabazitaxel", "ixabepilone", "carmustine", "lomustine", "mitomycin", "bleomycin", "vincristine",
    "vinblastine", "vindesine", "vinflunine", "ifosfamide", "melphalan", "bendamustine", "chlorambucil",
    "busulfan", "thiotepa", "dacarbazine", "procarbazine", "mitoxantrone", "belzutifan",
    "tebentafusp", "tivozanib", "fruquintinib", "pazopanib", "ruxolitinib", "fedratinib", "pacritinib",
    "idelalisib", "duvelisib", "copanlisib", "glasdegib", "ivosidenib", "enasidenib", "selinexor", "lurbinectedin",
    "trabectedin", "goserelin", "degarelix", "relugolix", "toremifene", "raloxifene", "megestrol", "nilutamide",
    "elotuzumab", "daratumumab", "isatuximab", "blinatumomab", "teclistamab", "mosunetuzumab", "talquetamab",
    "tafasitamab",
]


@pytest.fixture(scope="module")
def drugs(root):
    return DrugTable(root / "resources" / "drugs.tsv")


@pytest.fixture(scope="module")
def cancer_types(root):
    return CancerTypes(root / "resources" / "oncotree.tsv")


@pytest.fixture(scope="module")
def kb(root, drugs, cancer_types):
    # loading with both tables checks every drug, class and cancer type the shipped rows name
    return KnowledgeBase(root / "resources" / "resistance_mutations.tsv", drugs, cancer_types)


# ---------------------------------------------------------------- the drug table


def test_every_row_has_provenance_and_a_documented_class(root, drugs):
    text = (root / "resources" / "drugs.tsv").read_text()
    vocabulary = set(" ".join(re.findall(r"^#   classes: (.*)$", text, re.MULTILINE)).replace(",", " ").split())
    assert drugs.classes_known == vocabulary, drugs.classes_known ^ vocabulary
    rows, meta = read_versioned_tsv(root / "resources" / "drugs.tsv", DRUG_COLUMNS, "drugs")
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d+", meta["version"])
    for row in rows:
        assert row["provenance"], row["drug"]
        assert row["atc_code"] == "" or re.fullmatch(r"[A-Z]\d{2}[A-Z]{2}\d{2}", row["atc_code"]), row["drug"]
        for tag in re.findall(r"\[([A-Z0-9-]+)\]", row["provenance"]):  # source tags are defined in the header
            assert f"#   [{tag}]" in text or tag.startswith("JHO22-T"), tag


@pytest.mark.parametrize("name, generic, kind", [
    ("Keytruda", "pembrolizumab", "immune_checkpoint_inhibitor"), ("nivolumab", "nivolumab", "immune_checkpoint_inhibitor"),
    ("Yervoy", "ipilimumab", "immune_checkpoint_inhibitor"), ("atezolizumab", "atezolizumab", "immune_checkpoint_inhibitor"),
    ("durvalumab", "durvalumab", "immune_checkpoint_inhibitor"), ("Libtayo", "cemiplimab", "immune_checkpoint_inhibitor"),
    ("tremelimumab", "tremelimumab", "immune_checkpoint_inhibitor"), ("relatlimab", "relatlimab", "immune_checkpoint_inhibitor"),
    ("carboplatin", "carboplatin", "chemotherapy"), ("Platinol", "cisplatin", "chemotherapy"), ("5-FU", "fluorouracil", "chemotherapy"),
    ("Alimta", "pemetrexed", "chemotherapy"), ("Abraxane", "nab-paclitaxel", "chemotherapy"), ("VP-16", "etoposide", "chemotherapy"),
    ("Enhertu", "trastuzumab deruxtecan", "antibody_drug_conjugate"), ("Trodelvy", "sacituzumab govitecan", "antibody_drug_conjugate"),
    ("Padcev", "enfortumab vedotin", "antibody_drug_conjugate"), ("Ibrance", "palbociclib", "cdk46_inhibitor"),
    ("Verzenio", "abemaciclib", "cdk46_inhibitor"), ("Nolvadex", "tamoxifen", "serm"), ("Augtyro", "repotrectinib", "ros1_inhibitor"),
    ("Retevmo", "selpercatinib", "ret_inhibitor"), ("Vitrakvi", "larotrectinib", "trk_inhibitor"), ("Balversa", "erdafitinib", "fgfr_inhibitor"),
    ("Xospata", "gilteritinib", "flt3_inhibitor"), ("Tabrecta", "capmatinib", "met_inhibitor"), ("Truqap", "capivasertib", "akt_inhibitor"),
    ("Cabometyx", "cabozantinib", "ret_inhibitor"), ("XL184", "cabozantinib", "met_inhibitor"), ("TKI258", "dovitinib", "fgfr_inhibitor"),
    ("Koselugo", "selumetinib", "mek_inhibitor"), ("AZD6244", "selumetinib", "mek_inhibitor"),
])  # fmt: skip
def test_checkpoint_inhibitors_chemotherapy_and_new_agents_are_known(drugs, name, generic, kind):
    assert drugs.resolve(name) == generic
    assert kind in drugs.classes(generic)


def test_regimens_map_to_their_component_drugs(drugs):
    assert drugs.resolve("FOLFOX") == "folfox" and drugs.resolve("mFOLFOX6") is None  # only names seen in a source
    assert drugs.expand("folfox") == ("fluorouracil", "leucovorin", "oxaliplatin")
    assert drugs.expand(drugs.resolve("XELOX")) == ("capecitabine", "oxaliplatin")
    assert drugs.expand(drugs.resolve("CapeOx")) == ("capecitabine", "oxaliplatin")
    assert set(drugs.expand("folfoxiri")) == {"fluorouracil", "leucovorin", "irinotecan", "oxaliplatin"}
    assert drugs.expand("folfiri") == ("fluorouracil", "leucovorin", "irinotecan")
    assert drugs.expand(drugs.resolve("Opdualag")) == ("nivolumab", "relatlimab")
    assert drugs.expand("osimertinib") == ("osimertinib",)  # a single drug is itself
    assert drugs.resolve("Gem Cis") == drugs.resolve("gem_cis") == "gemcitabine-cisplatin"  # separators are one
    assert drugs.resolve("trastuzumab-deruxtecan") == "trastuzumab deruxtecan"
    assert "chemotherapy_adjunct" in drugs.classes("folfox")  # a regimen has its components' classes
    assert drugs.targets("folfox") == ()


def test_no_two_known_names_are_near_misses_of_each_other(drugs):
    names = drugs.names
    clashes = []
    for first, generic in names.items():
        for second, other in names.items():
            if generic != other and first < second and first[:1] == second[:1]:
                distance = edit_distance(first, second)
                if distance <= max(near_miss_allowance(first), near_miss_allowance(second)):
                    clashes.append((first, second, distance))
    assert clashes == []


def test_typos_name_the_drug_meant_but_other_real_drugs_do_not(drugs):
    for typo, meant in [("osimertnib", "osimertinib"), ("Osimeritnib", "osimertinib"), ("Tagriso", "osimertinib"),
                        ("pembrolizumb", "pembrolizumab"), ("capecitabin", "capecitabine"), ("carboplatn", "carboplatin"),
                        ("folfoxx", "folfox"), ("Keytrda", "pembrolizumab")]:  # fmt: skip
        assert drugs.resolve(typo) is None and drugs.near_miss(typo) == meant, typo
    assert {name: drugs.near_miss(name) for name in OTHER_REAL_DRUGS if drugs.near_miss(name) or drugs.resolve(name)} == {}
    assert drugs.near_miss("erlotinib") is None  # a known name is not a miss (and not nilotinib)
    assert drugs.near_miss("c226") is None  # short codes never count as near misses


def test_bad_drug_tables_are_rejected(tmp_path):
    path = tmp_path / "drugs.tsv"
    header = "drug\tsynonyms\tdrug_class\tsensitising_targets\tatc_code\tprovenance\tcomponents\n"
    path.write_text(header + "a_drug\t\tchemotherapy\t\t\tx\t\nregimen\t\tchemotherapy\t\t\tx\ta_drug,missing\n")
    with pytest.raises(InputError, match=r"row 2, column 'components'.*'missing'"):
        DrugTable(path)
    path.write_text(header + "a_drug\tshared\tchemotherapy\t\t\tx\t\nb_drug\tshared\tchemotherapy\t\t\tx\t\n")
    with pytest.raises(InputError, match=r"row 2, column 'synonyms'.*'shared' also belongs to 'a_drug'"):
        DrugTable(path)
    path.write_text(header.replace("\tcomponents", "") + "a_drug\t\tchemotherapy\t\t\tx\n")  # the column is optional
    assert DrugTable(path).expand("a_drug") == ("a_drug",)


# ---------------------------------------------------------------- knowledge base against the tables


def _kb_file(tmp_path, **values):
    row = dict.fromkeys(KB_COLUMNS, "")
    row.update(id="X_A1B", gene="X", protein_change="A1B", evidence="PMID:1", **values)
    path = tmp_path / "kb.tsv"
    path.write_text("# version: 1\n" + "\t".join(KB_COLUMNS) + "\n" + "\t".join(row[c] for c in KB_COLUMNS) + "\n")
    return path


def test_knowledge_base_rows_must_name_known_drugs_classes_and_cancer_types(tmp_path, kb, drugs, cancer_types):
    assert kb.entries  # the shipped rows pass
    with pytest.raises(InputError, match=r"kb.tsv, row 1, column 'resistance_to'.*X_A1B: drug 'osimertnib'.*did you mean 'osimertinib'"):
        KnowledgeBase(_kb_file(tmp_path, resistance_to="osimertnib"), drugs)
    with pytest.raises(InputError, match=r"row 1, column 'resistance_to'.*'magicinib' is not a single drug.*add it to"):
        KnowledgeBase(_kb_file(tmp_path, resistance_to="erlotinib,magicinib"), drugs)
    with pytest.raises(InputError, match=r"row 1, column 'resistance_to'.*'tarceva'.*write the generic name 'erlotinib'"):
        KnowledgeBase(_kb_file(tmp_path, resistance_to="tarceva"), drugs)
    with pytest.raises(InputError, match=r"row 1, column 'resistance_to'.*'folfox' is not a single drug"):
        KnowledgeBase(_kb_file(tmp_path, resistance_to="folfox"), drugs)
    with pytest.raises(InputError, match=r"row 1, column 'drug_class'.*'egfr_tki_4th_gen'"):
        KnowledgeBase(_kb_file(tmp_path, resistance_to="erlotinib", drug_class="egfr_tki_4th_gen"), drugs)
    with pytest.raises(InputError, match=r"row 1, column 'cancer_types'.*'LUNGX'.*closest: LUNG"):
        KnowledgeBase(_kb_file(tmp_path, resistance_to="erlotinib", cancer_types="LUNGX"), drugs, cancer_types)
    KnowledgeBase(_kb_file(tmp_path, resistance_to="erlotinib"))  # without the tables nothing is checked


def test_a_regimen_counts_as_its_components(tmp_path, drugs):
    kb = KnowledgeBase(_kb_file(tmp_path, resistance_to="fluorouracil", drug_class="chemotherapy"), drugs)
    assert kb.is_relevant("X_A1B", ["folfox"], drugs) and kb.is_relevant("X_A1B", ["capox"], drugs) is False


# ---------------------------------------------------------------- cancer types


def test_oncotree_table_is_one_tree_with_provenance(root, cancer_types):
    head = (root / "resources" / "oncotree.tsv").read_text().split("\ncode\t")[0]
    assert "cBioPortal/oncotree" in head and "CC BY 4.0" in head and cancer_types.version == "oncotree_2025_10_03"
    roots = [code for code, parent in cancer_types.parent.items() if not parent]
    assert roots == ["TISSUE"]
    assert all(cancer_types.lineage(code)[-1] == "TISSUE" for code in cancer_types.parent)


def test_parent_codes_cover_their_children_and_aliases_map(cancer_types):
    assert cancer_types.lineage("LUAD")[:3] == ["LUAD", "NSCLC", "LUNG"]
    assert cancer_types.matches("LUAD", ["NSCLC"]) and cancer_types.matches("luad", ["nsclc"])
    assert cancer_types.matches("NSCLC", ["LUAD"])  # a coarser record does not rule the finer evidence out
    assert cancer_types.matches("COAD", ["CRC"]) and cancer_types.code("CRC") == "COADREAD"  # knowledge-base alias
    assert cancer_types.matches("IDC", ["breast"]) and cancer_types.matches("CMLBCRABL1", ["CML"])
    assert cancer_types.code("CLL") == "CLLSLL" and cancer_types.code("melanoma") == "MEL"
    assert not cancer_types.matches("MEL", ["CRC"]) and not cancer_types.matches("SKCM", ["NSCLC", "CRC"])
    assert cancer_types.matches("", ["CRC"]) and cancer_types.matches("MEL", [])  # nothing recorded: no filter
    assert cancer_types.closest("Lung adenocarcinoma") == "LUAD (Lung Adenocarcinoma)"
    with pytest.raises(InputError, match=r"sheet.tsv, row 3, column 'cancer_type'.*'NSCL'.*closest: NSCLC"):
        cancer_types.check("NSCL", "sheet.tsv", 3, "cancer_type")


def test_every_knowledge_base_cancer_type_is_a_code_or_alias(kb, cancer_types):
    for entry in kb.entries.values():
        for text in entry.cancer_types:
            assert cancer_types.code(text), (entry.id, text)


# ---------------------------------------------------------------- alerts


def _alerts(kb, drugs, series, events, cancer_types=None, cancer="", patient="P1"):
    samples, calls = cohort(series, DATES, patient=patient)
    timeline = build_timeline(samples, calls, kb, "GRCh38", DetectionParams())
    frame = pd.DataFrame(events, columns=["patient", "date", "event", "value"])
    return call_alerts(timeline, frame, kb, drugs, AlertParams(), cancer_types, {patient: cancer}), timeline


RISING = [0, 0, 30, 60, 120]  # reads at 3,000x: a clear emergence


def test_melanoma_on_checkpoint_inhibitors_gets_no_anti_egfr_resistance_alert(kb, drugs, cancer_types):
    series = {V600E: RISING, NRAS_G12D: RISING}
    ici = [("P1", "2025-01-02", "therapy_start", "nivolumab"), ("P1", "2025-01-02", "therapy_start", "ipilimumab")]
    alerts, timeline = _alerts(kb, drugs, series, ici, cancer_types, "MEL")
    assert alerts.empty  # a known therapy that no entry resists
    assert set(timeline.kb_id) >= {"BRAF_V600E", "NRAS_G12D"}  # the matches stay visible in the timeline
    # the workaround (therapy rows removed): therapy unknown, but the evidence is for colorectal cancer
    alerts, _ = _alerts(kb, drugs, series, [], cancer_types, "SKCM")
    assert alerts.empty
    # without a recorded cancer type the old behaviour stays: every match alerts under 'unknown' therapy
    alerts, _ = _alerts(kb, drugs, series, [], cancer_types, "")
    assert set(alerts.therapy) == {"unknown"} and set(alerts.kb_id) == {"BRAF_V600E", "NRAS_G12D"}
    # a colorectal patient without therapy records still gets them
    alerts, _ = _alerts(kb, drugs, series, [], cancer_types, "COAD")
    assert set(alerts.kb_id) == {"BRAF_V600E", "NRAS_G12D"}


def test_unknown_therapy_names_raise_no_resistance_alert(kb, drugs, cancer_types):
    events = [("P1", "2025-01-02", "therapy_start", "Zalutumumab-X")]  # not in the drug table
    alerts, _ = _alerts(kb, drugs, {KRAS_G12D: RISING}, events, cancer_types, "COADREAD")
    assert alerts.empty
    events.append(("P1", "2025-01-02", "therapy_start", "folfox"))
    events.append(("P1", "2025-01-02", "therapy_start", "cetuximab"))
    alerts, _ = _alerts(kb, drugs, {KRAS_G12D: RISING}, events, cancer_types, "COADREAD")
    assert list(alerts.type[:1]) == ["emergence"] and alerts.iloc[0].therapy == "Zalutumumab-X+cetuximab+folfox"


def test_sites_watched_without_therapy_are_those_of_the_patients_cancer(kb, drugs, cancer_types):
    import datetime as dt

    day = dt.date(2025, 1, 1)
    everything = monitored_sites(PatientContext([], [day], 14, ""), day, kb, drugs, cancer_types)
    melanoma = monitored_sites(PatientContext([], [day], 14, "MEL"), day, kb, drugs, cancer_types)
    assert everything == len(kb.entries) and 0 < melanoma < everything
