"""Plain-language explanations of the group codes, CARCs and RARCs a dermatology denial team
meets, written by the dermedi project for billers (not the X12 code-list wording, which is
copyrighted: see config/tables/carc.csv for the sources of the classifier's data).

:func:`explain_carc` / :func:`explain_rarc` return our own short text, or a text derived from
the denial category when the code has none here.
"""

from __future__ import annotations

GROUPS: dict[str, str] = {
    "CO": "Contractual: the practice absorbs it under the contract; the patient may not be billed.",
    "PR": "Patient responsibility: the patient may be billed for it.",
    "OA": "Other adjustment: neither the contract nor the patient; often another payer or a reversal.",
    "PI": "Payer-initiated reduction: the payer's own decision, outside the contract terms.",
    "CR": "Correction or reversal of an earlier adjudication.",
}

CARC: dict[str, str] = {
    "1": "Goes to the patient's deductible.",
    "2": "The patient's coinsurance share.",
    "3": "The patient's copay.",
    "4": "The modifier does not fit the procedure, or a needed modifier is missing: fix the modifier "
         "and send a replacement claim.",
    "5": "The place of service does not fit the procedure code.",
    "11": "The diagnosis does not support the procedure: check the diagnosis codes and pointers.",
    "15": "The authorization number is missing or wrong.",
    "16": "Something is missing or wrong on the claim; the remark code says what.",
    "18": "The payer thinks this line was already billed (a duplicate).",
    "22": "Another payer may be primary: update coordination of benefits.",
    "27": "Coverage had ended on the date of service.",
    "29": "The claim reached the payer after its filing limit.",
    "31": "The payer cannot find this patient as its member.",
    "45": "The charge is above the contracted fee: a contractual write-off, not a denial.",
    "50": "The payer says the service was not medically necessary.",
    "55": "The payer treats the procedure as experimental or investigational.",
    "59": "Reduced under the multiple-procedure rules.",
    "96": "Not covered; the remark code says why.",
    "97": "Paid as part of another service on the same day (bundled).",
    "107": "An add-on code was billed without its primary procedure.",
    "146": "The diagnosis was invalid for the date of service.",
    "151": "The payer thinks the units or frequency are too high for the diagnosis.",
    "167": "The diagnosis is not covered for this service.",
    "170": "Not paid when performed by this type of provider.",
    "181": "The procedure code was invalid on the date of service.",
    "182": "The modifier was invalid on the date of service.",
    "197": "No prior authorization or precertification on file.",
    "204": "Not covered under the patient's current benefit plan.",
    "226": "The payer asked for information it did not receive.",
    "234": "This procedure is not paid separately.",
    "236": "This procedure or modifier pair is not allowed together under NCCI.",
    "252": "The payer needs documentation; the remark code says which.",
    "253": "Sequestration: the federal payment reduction, a write-off.",
}

RARC: dict[str, str] = {
    "M15": "Billed separately but paid as part of the main procedure.",
    "M51": "The procedure code is missing, incomplete or invalid.",
    "M76": "The diagnosis code is missing, incomplete or invalid.",
    "M80": "Not paid when performed on the same day as another listed service.",
    "MA130": "The claim could not be processed: no appeal rights; send a new, corrected claim.",
    "N19": "The procedure is included in the payment for another procedure.",
    "N20": "Not paid separately from another service on the same day.",
    "N56": "The procedure code does not fit the diagnosis.",
    "N115": "Decided under a local coverage determination (LCD).",
    "N130": "Check the plan's benefit limits.",
    "N290": "The rendering provider's NPI is missing or invalid.",
    "N362": "More units than the payer allows for this code.",
    "N383": "The payer considers the service cosmetic.",
    "N386": "Decided under a national coverage determination (NCD).",
    "N657": "A modifier is needed for this code.",
}

CATEGORY: dict[str, str] = {
    "bundling": "Bundled into another service on the same day.",
    "coding_modifier": "A modifier problem.",
    "coding_dx": "A diagnosis coding problem.",
    "medical_necessity": "The payer doubts medical necessity.",
    "non_covered": "Not a covered benefit.",
    "authorization": "An authorization problem.",
    "eligibility": "A coverage or eligibility problem.",
    "cob": "Another payer may pay first.",
    "duplicate": "Seen by the payer as a duplicate.",
    "timely_filing": "Filed after the payer's limit.",
    "submission_error": "Missing or wrong claim data.",
    "front_end_rejection": "Rejected before adjudication.",
    "other": "Needs review.",
}


def explain_group(group: str) -> str:
    return GROUPS.get(group.upper(), "")


def explain_carc(code: str, category: str = "") -> str:
    return CARC.get(code.upper()) or CATEGORY.get(category, "No explanation on file for this code.")


def explain_rarc(code: str) -> str:
    return RARC.get(code.upper(), "No explanation on file for this remark code.")


__all__ = ["explain_carc", "explain_group", "explain_rarc"]
