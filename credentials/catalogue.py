"""The platforms an operator can store credentials for, kept as data.

Each platform declares its fields: label, kind, whether required, and how the value is checked.
The "New" form, the edit form, which values are encrypted and how a secret is masked are all
derived from this declaration, so adding a platform is one entry in `PLATFORMS`.

Field kinds:
  text             plain value, stored as is (regex / length checked)
  choice           one of `choices`
  url              an https:// URL (no other scheme, no credentials inside the URL)
  gln              a 13-digit GLN (GS1 check digit, via python-stdnum's EAN module)
  pem_certificate  an X.509 certificate (chain) in PEM; public, stored as is; must not be expired
  secret           an API key or token: encrypted; the list shows at most its last four characters
  password         encrypted; nothing of it is ever shown
  pem_private_key  an unencrypted private key in PEM (RSA >= 2048 bits or EC): encrypted; the list
                   shows only its type; must match the platform's certificate when there is one
"""
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from stdnum import ean
from stdnum.exceptions import ValidationError as StdnumError

from portal.validators import ascii_pattern, single_line_text

SECRET_KINDS = {"secret", "password", "pem_private_key"}
KINDS = {"text", "choice", "url", "gln", "pem_certificate"} | SECRET_KINDS
MASK = "••••"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    required: bool = True
    help_text: str = ""
    regex: str | None = None
    regex_message: str = ""
    min_length: int = 1
    max_length: int = 255
    choices: tuple[tuple[str, str], ...] = ()
    upper: bool = False  # normalise to upper case (ids that platforms print in capitals)
    show_last: int = 4  # secrets: trailing characters the list may show (never more than 4)
    placeholder: str = ""

    def __post_init__(self):
        assert self.kind in KINDS, f"{self.name}: unknown kind {self.kind!r}"
        assert 0 <= self.show_last <= 4, f"{self.name}: at most four characters of a secret are shown"
        assert not (self.kind == "choice" and not self.choices), f"{self.name}: a choice needs choices"

    @property
    def secret(self) -> bool:
        return self.kind in SECRET_KINDS

    @property
    def multiline(self) -> bool:
        return self.kind in {"pem_certificate", "pem_private_key"}

    def clean(self, raw) -> str:
        """The value to store, or ValidationError with a message for this field. Empty input
        returns "" (the form decides whether the field is required)."""
        value = "" if raw is None else str(raw)
        if self.kind == "password":
            if value.strip() == "":
                return ""
        else:
            value = value.strip()
            if value == "":
                return ""
        if "\x00" in value:
            raise ValidationError("This value contains a NUL character.")
        if not self.multiline:  # one-line values: no control, line-break, bidi or invisible characters
            single_line_text(value)
        if self.upper:
            value = value.upper()
        cleaner = getattr(self, f"_clean_{self.kind}", None)
        if cleaner is not None:
            value = cleaner(value)
        if self.kind not in {"pem_certificate", "pem_private_key"}:
            if len(value) < self.min_length:
                raise ValidationError(f"Enter at least {self.min_length} characters.")
            if len(value) > self.max_length:
                raise ValidationError(f"Enter at most {self.max_length} characters.")
        if self.regex and not ascii_pattern(self.regex).fullmatch(value):  # \d is 0-9 only
            raise ValidationError(self.regex_message or "This value does not have the expected format.")
        return value

    def _clean_choice(self, value):
        if value not in dict(self.choices):
            raise ValidationError("Select one of the offered values.")
        return value

    def _clean_url(self, value):
        try:
            URLValidator(schemes=["https"])(value)
        except ValidationError:
            if value.lower().startswith("http://"):
                raise ValidationError("Use an https:// address: credentials are never sent unencrypted.") from None
            raise ValidationError("Enter a valid https:// address.") from None
        parts = urlsplit(value)
        if parts.username or parts.password:
            raise ValidationError("Do not put a user name or password inside the address.")
        return value

    def _clean_gln(self, value):
        try:
            value = ean.validate(value)
        except StdnumError:
            raise ValidationError("Enter a valid 13-digit GLN (check digit included).") from None
        if len(value) != 13:
            raise ValidationError("Enter a valid 13-digit GLN (check digit included).")
        return value

    def _clean_pem_certificate(self, value):
        certificates = load_certificates(value)
        leaf = certificates[0]
        if leaf.not_valid_after_utc <= datetime.now(UTC):
            raise ValidationError(
                f"This certificate expired on {leaf.not_valid_after_utc:%d %b %Y}. Upload a current one.")
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)

    def _clean_pem_private_key(self, value):
        load_private_key(value)
        return value.replace("\r\n", "\n").strip() + "\n"

    def mask(self, value: str) -> str:
        """What the pages may show of a stored secret: at most its last four characters (fewer
        for short values), only the key type for a private key, nothing of a password."""
        if self.kind == "pem_private_key":
            return describe_private_key(load_private_key(value))
        shown = min(self.show_last, len(value) // 4) if self.kind == "secret" else 0
        return MASK + (value[-shown:] if shown else "")


@dataclass(frozen=True)
class Platform:
    slug: str
    name: str
    category: str
    description: str
    fields: tuple[Field, ...]
    website: str = ""

    def __post_init__(self):
        names = [f.name for f in self.fields]
        assert len(names) == len(set(names)), f"{self.slug}: duplicate field names"
        assert "name" not in names, f"{self.slug}: 'name' is the credential's own name"

    @property
    def secret_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.secret)

    @property
    def plain_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.secret)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def cross_check(self, values: dict[str, str]) -> dict[str, str]:
        """Checks across fields on cleaned values; returns {field name: message}. A private key
        must belong to the platform's certificate."""
        errors = {}
        certs = [f for f in self.fields if f.kind == "pem_certificate" and values.get(f.name)]
        keys = [f for f in self.fields if f.kind == "pem_private_key" and values.get(f.name)]
        for cert_field in certs:
            for key_field in keys:
                cert = load_certificates(values[cert_field.name])[0]
                key = load_private_key(values[key_field.name])
                if _public_der(cert.public_key()) != _public_der(key.public_key()):
                    errors[key_field.name] = (
                        f"This private key does not belong to the {cert_field.label.lower()}.")
        return errors


# --- PEM helpers ----------------------------------------------------------------------------------

def load_certificates(value: str) -> list:
    if "-----BEGIN CERTIFICATE-----" not in value:
        raise ValidationError("Paste the certificate in PEM format (-----BEGIN CERTIFICATE----- …).")
    if "PRIVATE KEY-----" in value:
        raise ValidationError("This contains a private key: paste only the certificate here.")
    try:
        certificates = x509.load_pem_x509_certificates(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValidationError("This is not a readable PEM certificate.") from None
    if not certificates:
        raise ValidationError("This is not a readable PEM certificate.")
    return certificates


def load_private_key(value: str):
    if "PRIVATE KEY-----" not in value:
        raise ValidationError("Paste the private key in PEM format (-----BEGIN PRIVATE KEY----- …).")
    if "ENCRYPTED" in value:
        raise ValidationError("This private key is password-protected: export it without a passphrase.")
    try:
        key = serialization.load_pem_private_key(value.encode("ascii"), password=None)
    except TypeError:
        raise ValidationError("This private key is password-protected: export it without a passphrase.") from None
    except (ValueError, UnicodeEncodeError):
        raise ValidationError("This is not a readable PEM private key.") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValidationError(f"This RSA key has {key.key_size} bits; at least 2048 are required.")
    elif not isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise ValidationError("Use an RSA, EC or Ed25519 private key.")
    return key


def describe_private_key(key) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}-bit private key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC private key ({key.curve.name})"
    return "Ed25519 private key"


def describe_certificate(value: str) -> str:
    cert = load_certificates(value)[0]
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    subject = names[0].value if names else cert.subject.rfc4514_string()
    return f"{subject}, valid until {cert.not_valid_after_utc:%d %b %Y}"


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- The catalogue ----------------------------------------------------------------------------------

PAYMENT_TERMINALS = "Payment terminals"
METER_DATA = "Meter data and transparency platforms"
ROAMING = "Roaming hubs (OCPI)"
ACCOUNTING = "Accounting"
CATEGORIES = (PAYMENT_TERMINALS, METER_DATA, ROAMING, ACCOUNTING)

_ENVIRONMENTS = (("production", "Production"), ("test", "Test"))


def _https(name="endpoint_url", label="Endpoint URL", help_text="", **kw) -> Field:
    return Field(name, label, kind="url", max_length=500, placeholder="https://",
                 help_text=help_text or "The address the platform gave you; https:// only.", **kw)


def _client_tls(what: str) -> tuple[Field, Field]:
    return (
        Field("client_certificate", "Client certificate", kind="pem_certificate",
              help_text=f"The certificate {what} issued for you, in PEM format (a chain is fine)."),
        Field("private_key", "Private key", kind="pem_private_key",
              help_text="The certificate's private key in PEM format, without a passphrase. It is "
                        "encrypted and never shown again."),
    )


PLATFORMS: tuple[Platform, ...] = (
    Platform(
        "payter", "Payter", PAYMENT_TERMINALS,
        "Payter card terminals on your charge points (Payter Cloud API).",
        (
            Field("api_key", "API key", kind="secret", regex=r"[A-Za-z0-9_\-]{32,128}",
                  regex_message="A Payter API key is 32 to 128 letters, digits, '-' or '_'.",
                  help_text="From Payter's MyPayter portal: Settings → API keys."),
            Field("terminal_id", "Terminal serial number", upper=True, regex=r"[A-Z0-9]{6,24}",
                  regex_message="Enter the serial number printed on the terminal: 6 to 24 letters or digits."),
            Field("environment", "Environment", kind="choice", choices=_ENVIRONMENTS),
        ),
        website="https://www.payter.com",
    ),
    Platform(
        "nayax", "Nayax", PAYMENT_TERMINALS,
        "Nayax card readers (Nayax Lynx API).",
        (
            Field("api_token", "API token", kind="secret", regex=r"[A-Za-z0-9._\-]{20,200}",
                  regex_message="A Nayax API token is 20 to 200 letters, digits, '.', '-' or '_'."),
            Field("operator_id", "Operator ID", regex=r"\d{4,12}",
                  regex_message="Your Nayax operator ID is 4 to 12 digits."),
            Field("machine_id", "Machine ID", required=False, regex=r"\d{6,12}",
                  regex_message="A Nayax machine ID is 6 to 12 digits.",
                  help_text="Optional: limit these credentials to one machine."),
        ),
        website="https://www.nayax.com",
    ),
    Platform(
        "adyen", "Adyen", PAYMENT_TERMINALS,
        "Adyen payment terminals through the Adyen cloud Terminal API.",
        (
            Field("api_key", "API key", kind="secret", regex=r"AQE[A-Za-z0-9+/=._\-]{20,400}",
                  regex_message="An Adyen API key starts with 'AQE' (Customer Area → Developers → API credentials)."),
            Field("merchant_account", "Merchant account", regex=r"[A-Za-z0-9_.\-]{3,80}",
                  regex_message="3 to 80 letters, digits, '.', '-' or '_', exactly as in the Customer Area."),
            Field("terminal_id", "Terminal ID (POIID)", regex=r"[A-Za-z0-9]{2,16}-\d{6,12}",
                  regex_message="Model and serial number, e.g. V400m-324688179."),
            Field("environment", "Environment", kind="choice", choices=(("live", "Live"), ("test", "Test"))),
        ),
        website="https://www.adyen.com",
    ),
    Platform(
        "energinet_datahub", "Energinet DataHub (DK)", METER_DATA,
        "Publish metered charging energy to the Danish DataHub as a market participant.",
        (
            Field("gln", "Market participant GLN", kind="gln",
                  help_text="Your 13-digit GLN registered with Energinet."),
            _https(help_text="The DataHub B2B endpoint, e.g. https://b2b.datahub3.dk/."),
            *_client_tls("Energinet"),
        ),
        website="https://energinet.dk",
    ),
    Platform(
        "eichrecht_transparency", "Eichrecht transparency publishing (DE)", METER_DATA,
        "Publish signed meter values for German calibration law (Eichrecht) to a transparency platform.",
        (
            Field("operator_id", "EVSE operator ID", upper=True, regex=r"DE\*?[A-Z0-9]{3}",
                  regex_message="A German EVSE operator ID, e.g. DE*ABC."),
            _https(),
            Field("username", "Username", max_length=150),
            Field("password", "Password", kind="password", min_length=12, max_length=200,
                  help_text="At least 12 characters. Encrypted; never shown again."),
        ),
    ),
    Platform(
        "hubject", "Hubject", ROAMING,
        "Roaming through the Hubject intercharge network (OCPI / OICP over mutual TLS).",
        (
            Field("operator_id", "EVSE operator ID", upper=True, regex=r"[A-Z]{2}\*?[A-Z0-9]{3}",
                  regex_message="Country code and party ID, e.g. DK*CPO."),
            _https(help_text="The Hubject endpoint you were given, e.g. https://service.hubject.com/."),
            *_client_tls("Hubject"),
        ),
        website="https://www.hubject.com",
    ),
    Platform(
        "gireve", "GIREVE", ROAMING,
        "Roaming through the GIREVE hub (OCPI 2.2.1).",
        (
            Field("country_code", "Country code", upper=True, regex=r"[A-Z]{2}",
                  regex_message="The two-letter ISO country code of your party, e.g. DK."),
            Field("party_id", "Party ID", upper=True, regex=r"[A-Z0-9]{3}",
                  regex_message="Your three-character OCPI party ID, e.g. CPO."),
            _https("versions_url", "Versions URL", help_text="GIREVE's OCPI versions endpoint; https:// only."),
            Field("token", "Credentials token", kind="secret", regex=r"[\x21-\x7e]{16,255}",
                  regex_message="16 to 255 visible characters without spaces.",
                  help_text="Token A from GIREVE for the OCPI credentials handshake."),
        ),
        website="https://www.gireve.com",
    ),
    Platform(
        "economic", "e-conomic", ACCOUNTING,
        "Send invoices and payouts to Visma e-conomic bookkeeping.",
        (
            Field("app_secret_token", "App secret token", kind="secret", regex=r"[A-Za-z0-9_\-]{20,100}",
                  regex_message="20 to 100 letters, digits, '-' or '_' (X-AppSecretToken)."),
            Field("agreement_grant_token", "Agreement grant token", kind="secret",
                  regex=r"[A-Za-z0-9_\-]{20,100}",
                  regex_message="20 to 100 letters, digits, '-' or '_' (X-AgreementGrantToken)."),
        ),
        website="https://www.e-conomic.dk",
    ),
)

_BY_SLUG = {p.slug: p for p in PLATFORMS}
assert len(_BY_SLUG) == len(PLATFORMS), "duplicate platform slugs"


def get(slug: str) -> Platform | None:
    return _BY_SLUG.get(slug)


def by_category() -> list[tuple[str, list[Platform]]]:
    return [(c, [p for p in PLATFORMS if p.category == c]) for c in CATEGORIES]
