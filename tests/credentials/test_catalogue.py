"""Each catalogue platform's validation, through the form a user fills in: good values pass,
each bad value is refused on its own field with a specific message."""
from datetime import UTC, datetime, timedelta

import pytest

from credentials import catalogue
from credentials.forms import CredentialForm
from tests.credentials.pem import certificate_pem, ec_key, private_key_pem, rsa_key, tls_pair

CERT, KEY = tls_pair()
OTHER_CERT, OTHER_KEY = tls_pair("other.example")

GOOD = {
    "payter": {"api_key": "pk_live_4f1c9a7e2b6d8f03a5c1e9b7d2e0aa11", "terminal_id": "p68d0042137",
               "environment": "production"},
    "nayax": {"api_token": "nyx.2Fh8dK3lQ9wE7rT1yU5iO0pA", "operator_id": "123456", "machine_id": ""},
    "adyen": {"api_key": "AQEyhmfxK4PJahZCw0m/n3Q5qf3VaY9UCJ14XWZE03G+", "merchant_account": "DemoChargingECOM",
              "terminal_id": "V400m-324688179", "environment": "test"},
    "energinet_datahub": {"gln": "5790000000005", "endpoint_url": "https://b2b.datahub3.dk/",
                          "client_certificate": CERT, "private_key": KEY},
    "eichrecht_transparency": {"operator_id": "de*abc", "endpoint_url": "https://transparenz.example.de/api",
                               "username": "demo-cpo", "password": " a long pass phrase "},
    "hubject": {"operator_id": "DK*CPO", "endpoint_url": "https://service.hubject.com/",
                "client_certificate": CERT, "private_key": KEY},
    "gireve": {"country_code": "dk", "party_id": "cpo", "versions_url": "https://ocpi.gireve.com/versions",
               "token": "3f6b1c9e-aa52-4e0d-9d0a-7b1e2c3d4f5a"},
    "economic": {"app_secret_token": "AppSecret0123456789abcdef", "agreement_grant_token": "Grant_0123456789-abcdefgh"},
}

EXPIRED_CERT = certificate_pem(ec_key(), not_after=datetime.now(UTC) - timedelta(days=1))
_enc_key = ec_key()
ENCRYPTED_KEY = private_key_pem(_enc_key, passphrase=b"hunter2-hunter2")
SMALL_RSA = private_key_pem(rsa_key(1024))

# platform -> [(field, bad value, part of the expected message)]
BAD = {
    "payter": [("api_key", "short", "32 to 128"), ("api_key", "x" * 31 + "!", "32 to 128"),
               ("terminal_id", "P68 0042", "serial number"), ("environment", "staging", "Select one"),
               ("api_key", "", "required")],
    "nayax": [("api_token", "too-short", "20 to 200"), ("operator_id", "12ab", "4 to 12 digits"),
              ("machine_id", "12", "6 to 12 digits")],
    "adyen": [("api_key", "sk_live_0123456789abcdefghijklmnop", "starts with 'AQE'"),
              ("merchant_account", "a b", "3 to 80"), ("terminal_id", "V400m324688179", "V400m-324688179"),
              ("environment", "production", "Select one")],
    "energinet_datahub": [("gln", "5790000000004", "13-digit GLN"), ("gln", "123", "13-digit GLN"),
                          ("endpoint_url", "http://b2b.datahub3.dk/", "https://"),
                          ("endpoint_url", "ftp://b2b.datahub3.dk/", "https://"),
                          ("endpoint_url", "https://user:pw@b2b.datahub3.dk/", "user name or password"),
                          ("client_certificate", "hello", "PEM format"),
                          ("client_certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                           "not a readable PEM certificate"),
                          ("client_certificate", EXPIRED_CERT, "expired"),
                          ("client_certificate", CERT + KEY, "paste only the certificate"),
                          ("private_key", "secret", "PEM format"),
                          ("private_key", ENCRYPTED_KEY, "password-protected"),
                          ("private_key", SMALL_RSA, "at least 2048"),
                          ("private_key", OTHER_KEY, "does not belong to the client certificate")],
    "eichrecht_transparency": [("operator_id", "DK*ABC", "German EVSE operator ID"),
                               ("endpoint_url", "transparenz.example.de", "valid https://"),
                               ("password", "short", "at least 12"), ("username", "", "required")],
    "hubject": [("operator_id", "DKCPO1", "DK*CPO"), ("endpoint_url", "http://service.hubject.com/", "https://"),
                ("private_key", OTHER_KEY, "does not belong"), ("client_certificate", EXPIRED_CERT, "expired")],
    "gireve": [("country_code", "DNK", "two-letter"), ("party_id", "CP", "three-character"),
               ("versions_url", "http://ocpi.gireve.com/versions", "https://"),
               ("token", "with space inside token", "without spaces"), ("token", "short", "16 to 255")],
    "economic": [("app_secret_token", "tok=en0123456789abcdefgh", "X-AppSecretToken"),
                 ("agreement_grant_token", "short", "X-AgreementGrantToken")],
}


def _form(platform, **overrides):
    entry = catalogue.get(platform)
    return CredentialForm({"name": f"My {entry.name}", **GOOD[platform], **overrides}, platform=entry)


def test_every_platform_has_good_and_bad_examples():
    slugs = {p.slug for p in catalogue.PLATFORMS}
    assert set(GOOD) == slugs and set(BAD) == slugs
    for platform in catalogue.PLATFORMS:
        # every field of every platform is exercised with at least its good value
        assert set(GOOD[platform.slug]) == {f.name for f in platform.fields}


def test_catalogue_covers_the_required_kinds_of_platform():
    names = {c: [p.name for p in ps] for c, ps in catalogue.by_category()}
    assert {"Payter", "Nayax", "Adyen"} <= set(names[catalogue.PAYMENT_TERMINALS])
    assert {"Hubject", "GIREVE"} <= set(names[catalogue.ROAMING])
    assert "e-conomic" in names[catalogue.ACCOUNTING]
    assert names[catalogue.METER_DATA]
    assert all(p.secret_fields for p in catalogue.PLATFORMS), "each platform has something to protect"


@pytest.mark.parametrize("platform", sorted(GOOD))
def test_good_values_are_accepted_and_normalised(platform):
    form = _form(platform)
    assert form.is_valid(), form.errors
    entry = catalogue.get(platform)
    for f in entry.fields:
        if f.upper:
            assert form.values[f.name] == GOOD[platform][f.name].strip().upper()


@pytest.mark.parametrize("platform,field,value,message",
                         [(p, f, v, m) for p, cases in BAD.items() for f, v, m in cases],
                         ids=[f"{p}-{f}-{i}" for p, cases in BAD.items() for i, (f, _, _) in enumerate(cases)])
def test_bad_values_are_refused_on_their_field(platform, field, value, message):
    form = _form(platform, **{field: value})
    assert not form.is_valid()
    assert list(form.errors) == [field], form.errors
    assert message.lower() in " ".join(form.errors[field]).lower()


def test_secrets_are_masked_to_at_most_four_characters():
    api_key = catalogue.get("payter").field("api_key")
    assert api_key.mask("pk_live_4f1c9a7e2b6d8f03a5c1e9b7d2e0aa11") == "••••aa11"
    token = catalogue.get("gireve").field("token")
    assert token.mask("0123456789abcdef") == "••••cdef"
    short = catalogue.Field("pin", "PIN", kind="secret", min_length=1)
    assert short.mask("12345678") == "••••78"  # a short secret shows less (a quarter of it)
    assert short.mask("123") == "••••"
    password = catalogue.get("eichrecht_transparency").field("password")
    assert password.mask("a long pass phrase") == "••••"
    key = catalogue.get("hubject").field("private_key")
    assert key.mask(KEY) == "EC private key (secp256r1)"
    assert catalogue.get("hubject").field("private_key").mask(private_key_pem(rsa_key())) == "RSA 2048-bit private key"


def test_a_platform_cannot_declare_more_than_four_shown_characters():
    with pytest.raises(AssertionError):
        catalogue.Field("api_key", "API key", kind="secret", show_last=5)
