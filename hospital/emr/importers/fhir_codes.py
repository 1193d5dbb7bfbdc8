"""Code maps the FHIR importer uses: SNOMED → ICD-10, LOINC → consortium lab, drug aliases.

Written for fedchain from the published SNOMED CT → ICD-10-CM map (conditions Synthea emits)
and LOINC's names; unmapped codes are kept (SNOMED/LOINC/RxNorm stay on the record) and
reported as unknown terms.
"""

from __future__ import annotations

SNOMED_TO_ICD10: dict[str, str] = {
    "444814009": "J01.90",
    "10509002": "J20.9",
    "195662009": "J02.9",
    "40055000": "J32.9",
    "36971009": "J32.9",
    "162864005": "E66.9",
    "68496003": "K63.5",
    "15777000": "R73.03",
    "283385000": "S71.10XA",
    "44465007": "S93.409A",
    "233678006": "J45.909",
    "283371005": "S51.809A",
    "284549007": "S61.409A",
    "93761005": "C18.9",
    "70704007": "S63.509A",
    "444448004": "S83.419A",
    "19169002": "O03.9",
    "65275009": "K81.0",
    "235919008": "K80.20",
    "444470001": "S83.519A",
    "38341003": "I10",
    "59621000": "I10",
    "271737000": "D64.9",
    "26929004": "G30.9",
    "58150001": "S42.009A",
    "88805009": "I50.9",
    "44054006": "E11.9",
    "43878008": "J02.0",
    "65363002": "H66.90",
    "233604007": "J18.9",
    "22298006": "I21.9",
    "230690007": "I63.9",
    "185086009": "J44.9",
    "55822004": "E78.5",
    "53741008": "I25.10",
    "195967001": "J45.909",
    "87433001": "J43.9",
    "68566005": "N39.0",
    "24079001": "L20.9",
    "399211009": "I25.2",
    "40275004": "L25.9",
    "72892002": "Z34.90",
}
UNMAPPED_ICD10 = "R69"  # "illness, unspecified": the SNOMED code stays on the record

# LOINC → (consortium lab, factor to the consortium unit)
LOINC_TO_LAB: dict[str, tuple[str, float]] = {
    "8310-5": ("temperature", 1.0),
    "8331-1": ("temperature", 1.0),
    "8867-4": ("heart_rate", 1.0),
    "9279-1": ("respiratory_rate", 1.0),
    "8480-6": ("systolic_bp", 1.0),
    "8462-4": ("diastolic_bp", 1.0),
    "2708-6": ("spo2", 1.0),
    "59408-5": ("spo2", 1.0),
    "39156-5": ("bmi", 1.0),
    "6690-2": ("wbc", 1.0),
    "26464-8": ("wbc", 1.0),  # 10*3/uL = 10*9/L
    "718-7": ("hemoglobin", 10.0),  # g/dL → g/L
    "787-2": ("mcv", 1.0),
    "30428-7": ("mcv", 1.0),
    "777-3": ("platelets", 1.0),
    "26515-7": ("platelets", 1.0),
    "2339-0": ("glucose", 1 / 18.016),
    "2345-7": ("glucose", 1 / 18.016),  # mg/dL → mmol/L
    "4548-4": ("hba1c", 1.0),
    "2093-3": ("total_cholesterol", 1.0),
    "18262-6": ("ldl_cholesterol", 1 / 38.67),  # mg/dL → mmol/L
    "1742-6": ("alt", 1.0),
    "42719-5": ("bilirubin_total", 17.1),  # mg/dL → umol/L
    "38483-4": ("creatinine", 88.42),
    "2160-0": ("creatinine", 88.42),  # mg/dL → umol/L
    "2947-0": ("sodium", 1.0),
    "2951-2": ("sodium", 1.0),
    "6298-4": ("potassium", 1.0),
    "2823-3": ("potassium", 1.0),
}

# RxNorm ingredient names → consortium drug names
DRUG_ALIASES: dict[str, str] = {
    "acetaminophen": "paracetamol",
    "albuterol": "salbutamol",
    "lasix": "furosemide",
    "metoprolol_succinate": "metoprolol",
    "ferrous_sulfate": "ferrous_sulfate",
    "fluticasone_propionate": "fluticasone",
    "naproxen_sodium": "naproxen",
    "sodium_chloride": "normal_saline",
    "morphine_sulfate": "morphine",
}
