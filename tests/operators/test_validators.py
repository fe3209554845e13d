"""VAT, EAN and IBAN checks with real published examples (EU VIES / national registries,
python-stdnum's documented examples, the IBAN registry's sample IBANs)."""
import pytest
from django.core.exceptions import ValidationError

from operators.validators import normalize_ean, normalize_vat, parse_bic, parse_iban


@pytest.mark.parametrize("country,raw,stored", [
    ("DK", "DK 13 58 56 28", "DK13585628"),
    ("DK", "13585628", "DK13585628"),           # prefix added for the operator's country
    ("DE", "DE 136 695 976", "DE136695976"),
    ("SE", "SE556188840401", "SE556188840401"),
    ("FR", "FR 40 303 265 045", "FR40303265045"),
    ("NL", "NL004495445B01", "NL004495445B01"),
    ("BE", "BE 0403.019.261", "BE0403019261"),
    ("AT", "ATU13585627", "ATU13585627"),
    ("GR", "094259216", "EL094259216"),          # Greece's VAT prefix is EL
    ("FI", "fi20774740", "FI20774740"),          # lower case accepted
    ("NO", "NO 995 525 828 MVA", "NO995525828MVA"),
    ("NO", "995525828", "NO995525828MVA"),
    ("GB", "GB 980 7806 84", "GB980780684"),
    ("CH", "CHE-107.787.577 IVA", "CHE107787577IVA"),
])
def test_valid_vat_numbers_are_stored_normalised(country, raw, stored):
    assert normalize_vat(country, raw) == stored


@pytest.mark.parametrize("country,raw,message", [
    ("DK", "DK13585627", "check digit"),
    ("DK", "DK1358562", "wrong number of digits"),
    ("DE", "DE136695978", "check digit"),
    ("NO", "NO 995 525 829 MVA", "check digit"),
    ("GB", "GB802311781", "check digit"),
    ("FR", "FR84323140391", "check digit"),
    ("DK", "SE556188840401", "starts with SE, but the company is in Denmark"),
    ("DK", "", "Enter the company's VAT number"),
    ("DK", "hello", "not a valid VAT number for Denmark"),
])
def test_invalid_vat_numbers_get_a_specific_message(country, raw, message):
    with pytest.raises(ValidationError) as exc:
        normalize_vat(country, raw)
    assert message in exc.value.messages[0]


@pytest.mark.parametrize("raw,stored", [
    ("5798009932006", "5798009932006"),      # a published Danish GLN (NemHandel)
    ("579 0000 000005", "5790000000005"),
    ("", ""),                                # optional
])
def test_ean_gln13(raw, stored):
    assert normalize_ean(raw) == stored


@pytest.mark.parametrize("raw,message", [
    ("5798009932007", "check digit"),
    ("579800993200", "has 13 digits; this one has 12"),
    ("57980099320X6", "digits only"),
])
def test_invalid_ean(raw, message):
    with pytest.raises(ValidationError) as exc:
        normalize_ean(raw)
    assert message in exc.value.messages[0]


@pytest.mark.parametrize("raw,compact,bic", [
    ("DK50 0040 0440 1162 43", "DK5000400440116243", "NDEADKKK"),
    ("dk5000400440116243", "DK5000400440116243", "NDEADKKK"),
    ("NO93 8601 1117 947", "NO9386011117947", "DABANO22"),
    ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "COBADEFFXXX"),
    ("GB29 NWBK 6016 1331 9268 19", "GB29NWBK60161331926819", "NWBKGB2LXXX"),
    ("SE45 5000 0000 0583 9825 7466", "SE4550000000058398257466", None),
    ("CH93 0076 2011 6238 5295 7", "CH9300762011623852957", None),
])
def test_valid_ibans(raw, compact, bic):
    iban = parse_iban(raw)
    assert iban.compact == compact
    if bic:
        assert iban.bic is not None and iban.bic.compact == bic


@pytest.mark.parametrize("raw,message", [
    ("DK50 0040 0440 1162 44", "check digits of this IBAN are wrong"),
    ("DK50 0040 0440 1162 4", "from DK has 18 characters; this one has 17"),
    ("XX50 0040 0440 1162 43", "“XX” is not one"),
    ("12345678", "not a valid IBAN"),
    ("", "Enter the account's IBAN"),
])
def test_invalid_ibans(raw, message):
    with pytest.raises(ValidationError) as exc:
        parse_iban(raw)
    assert message in exc.value.messages[0]


def test_bic_is_validated_when_asked_for():
    assert parse_bic("deut de ff 500") == "DEUTDEFF500"
    with pytest.raises(ValidationError, match="not a valid BIC"):
        parse_bic("XYZ")
    with pytest.raises(ValidationError, match="enter its BIC"):
        parse_bic("")
