"""`rdsca trust check` on AWS's real bundles, in every format, and on bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import jks
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from rdsca.cli.app import main
from support.keystores import write_p12_truststore

DATA = Path(str(resources.files("rdsca.catalog") / "data"))
G2025 = DATA / "global-bundle-2025.pem"
G2023 = DATA / "global-bundle-2023.pem"
OLD = DATA / "rds-combined-ca-bundle-2019.pem"
G1 = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
_FAMILY = {"rds-ca-rsa2048-g1": "RSA2048", "rds-ca-rsa4096-g1": "RSA4096", "rds-ca-ecc384-g1": "ECC384"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["trust", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code, out, _err = run(capsys, *args, "--format", "json")
    return code, json.loads(out)


def regions_in(path: Path, family: str) -> set[str]:
    """Regions whose production root of `family` the PEM holds, read from the CNs."""
    pattern = re.compile(rf"^Amazon RDS ([a-z]{{2}}-[a-z]+-\d) Root CA {family} G1$")
    out = set()
    for cert in x509.load_pem_x509_certificates(path.read_bytes()):
        m = pattern.match(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        if m:
            out.add(m.group(1))
    return out


def certs_of(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


@pytest.mark.parametrize("ca_id", G1)
def test_global_2025_trusts_each_g1_ca_in_each_of_its_34_regions(capsys, ca_id):
    code, doc = run_json(capsys, "check", str(G2025), "--for", ca_id)
    assert code == 0
    assert doc["schema"] == "rdsca.trust/1"
    assert doc["trusted"] is True
    regions = {r["region"] for r in doc["regions"]}
    assert regions == regions_in(G2025, _FAMILY[ca_id])
    assert len(regions) == 34
    assert all(r["status"] == "trusted" for r in doc["regions"])
    for r in doc["regions"]:  # each region is anchored by its own root, found by key
        cert = doc["bundle"]["certificates"][r["anchor"] - 1]
        assert cert["rds"] == {"ca_id": ca_id, "region": r["region"], "role": "root", "stage": None}


@pytest.mark.parametrize("ca_id", G1)
def test_old_combined_bundle_trusts_no_g1_ca(capsys, ca_id):
    code, doc = run_json(capsys, "check", str(OLD), "--for", ca_id)
    assert code == 3
    assert doc["trusted"] is False
    assert len(doc["regions"]) == 34
    assert {r["status"] for r in doc["regions"]} == {"missing"}
    codes = {w["code"] for w in doc["warnings"]}
    assert {"retired-only", "expired-root", "expired-intermediate"} <= codes


def test_old_combined_bundle_table_says_why(capsys):
    code, out, _ = run(capsys, "check", str(OLD), "--region", "eu-west-1")
    assert code == 3
    assert "missing           eu-west-1" in out
    assert "Amazon RDS eu-west-1 Root CA RSA2048 G1" in out
    assert "only RDS roots are of retired CAs" in out
    assert out.rstrip().splitlines()[-1].startswith("NOT TRUSTED")


def test_2019_root_trusted_before_it_expired(capsys):
    args = ["check", str(OLD), "--for", "rds-ca-2019", "--region", "us-east-1"]
    assert run(capsys, *args, "--at", "2023-06-01")[0] == 0
    code, doc = run_json(capsys, *args)
    assert code == 3 and doc["regions"][0]["status"] == "expired-root"


def test_2023_bundle_trusts_g1_in_its_regions_and_warns_about_2019(capsys):
    present = sorted(regions_in(G2023, "RSA2048"))
    assert len(present) == 29
    code, doc = run_json(capsys, "check", str(G2023), "--region", ",".join(present))
    assert code == 0 and doc["trusted"] is True
    codes = {w["code"] for w in doc["warnings"]}
    assert {"expired-intermediate", "retired-roots", "expired-root"} <= codes
    assert "retired-only" not in codes
    # Regions opened after 2023 are missing from it: it is not enough everywhere.
    code, doc = run_json(capsys, "check", str(G2023))
    missing = {r["region"] for r in doc["regions"] if r["status"] == "missing"}
    assert code == 3
    assert missing == regions_in(G2025, "RSA2048") - set(present)


def test_keytool_warning_names_the_first_certificate(capsys):
    code, out, _ = run(capsys, "check", str(G2025))
    assert code == 0
    first = certs_of(G2025)[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert "[keytool-first-only]" in out
    assert f"#1 {first}" in " ".join(out.split())


# --- formats, generated from the real certificates ------------------------------------------


def test_crlf_pem_with_text_between_blocks(capsys, tmp_path):
    blocks = G2025.read_text().split("-----END CERTIFICATE-----")
    text = "".join(b + "-----END CERTIFICATE-----\n# a comment\nsubject=whatever\n" for b in blocks[:-1])
    crlf = tmp_path / "bundle-crlf.pem"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    code, doc = run_json(capsys, "check", str(crlf))
    assert code == 0 and doc["bundle"]["format"] == "pem"
    assert len(doc["bundle"]["certificates"]) == 108
    assert run_json(capsys, "check", str(G2023), "--region", "us-east-1")[0] == 0  # AWS's CRLF


def _root(region: str, family: str = "RSA2048") -> x509.Certificate:
    cn = f"Amazon RDS {region} Root CA {family} G1"
    return next(
        c for c in certs_of(G2025) if c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    )


def test_der_single_root(capsys, tmp_path):
    der = tmp_path / "eu-west-1.der"
    der.write_bytes(_root("eu-west-1").public_bytes(serialization.Encoding.DER))
    code, doc = run_json(capsys, "check", str(der), "--region", "eu-west-1")
    assert code == 0 and doc["bundle"]["format"] == "der"
    code, doc = run_json(capsys, "check", str(der), "--region", "us-east-1")
    assert code == 3 and doc["regions"][0]["status"] == "missing"


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_p7b(capsys, tmp_path, encoding):
    p7b = tmp_path / "global-bundle.p7b"
    p7b.write_bytes(pkcs7.serialize_certificates(certs_of(G2025), encoding))
    code, doc = run_json(capsys, "check", str(p7b), "--for", "rds-ca-rsa4096-g1")
    assert code == 0
    assert doc["bundle"]["format"] == ("pem" if encoding == serialization.Encoding.PEM else "pkcs7")
    assert len(doc["bundle"]["certificates"]) == 108


def test_java_keystore_default_password(capsys, tmp_path):
    store_type = "jks"  # pyjks cannot write JCEKS: keytool makes one below
    entries = [
        jks.TrustedCertEntry.new(f"rds{i}", c.public_bytes(serialization.Encoding.DER))
        for i, c in enumerate(certs_of(G2025))
    ]
    path = tmp_path / f"truststore.{store_type}"
    path.write_bytes(jks.KeyStore.new(store_type, entries).saves("changeit"))
    code, doc = run_json(capsys, "check", str(path), "--for", "rds-ca-ecc384-g1")
    assert code == 0 and doc["bundle"]["format"] == store_type
    assert doc["bundle"]["certificates"][0]["location"].startswith("alias rds")


def test_jks_wrong_password_is_a_clear_error(capsys, tmp_path, monkeypatch):
    entry = jks.TrustedCertEntry.new("root", _root("us-east-1").public_bytes(serialization.Encoding.DER))
    path = tmp_path / "store.jks"
    path.write_bytes(jks.KeyStore.new("jks", [entry]).saves("TopSecret-1"))
    code, out, err = run(capsys, "check", str(path))
    assert code == 2 and out == ""
    assert "wrong password" in err and "'changeit'" in err
    monkeypatch.setenv("STOREPASS", "not-it-either")
    code, _, err = run(capsys, "check", str(path), "--password-env", "STOREPASS")
    assert code == 2 and "wrong password" in err and "not-it-either" not in err
    monkeypatch.setenv("STOREPASS", "TopSecret-1")
    code, out, _ = run(capsys, "check", str(path), "--password-env", "STOREPASS", "--region", "us-east-1")
    assert code == 0 and "TopSecret-1" not in out


def test_pkcs12_with_password_file(capsys, tmp_path):
    path = write_p12_truststore(tmp_path / "truststore.p12", certs_of(G2025), "p12-secret", "rds")
    pw = tmp_path / "pw.txt"
    pw.write_text("p12-secret\n")
    code, doc = run_json(capsys, "check", str(path), "--password-file", str(pw))
    assert code == 0 and doc["bundle"]["format"] == "pkcs12"
    assert len(doc["bundle"]["certificates"]) == 108
    code, out, err = run(capsys, "check", str(path))
    assert code == 2 and "wrong password" in err and "p12-secret" not in out + err


def _keytool() -> str:
    keytool = shutil.which("keytool")
    if keytool is None:
        if os.environ.get("RDSCA_REQUIRE_REAL") == "1":
            pytest.fail("keytool is required (RDSCA_REQUIRE_REAL=1)")
        pytest.skip("keytool (a JDK) is not installed")
    return keytool


@pytest.mark.parametrize("store_type", ["JKS", "JCEKS"])
def test_keystore_made_by_keytool_from_the_pem_holds_one_root(capsys, tmp_path, store_type):
    store = tmp_path / "truststore.ks"
    subprocess.run(
        [
            _keytool(),
            "-importcert",
            "-noprompt",
            "-alias",
            "rds",
            "-file",
            str(G2025),
            "-keystore",
            str(store),
            "-storetype",
            store_type,
            "-storepass",
            "changeit",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    code, doc = run_json(capsys, "check", str(store))
    assert doc["bundle"]["format"] == store_type.lower()
    assert code == 3
    trusted = [r["region"] for r in doc["regions"] if r["status"] == "trusted"]
    first = certs_of(G2025)[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert len(doc["bundle"]["certificates"]) == 1
    assert trusted == [first.split()[2]]  # exactly what the keytool warning predicted


# --- bad input -----------------------------------------------------------------------------


def test_truncated_pem_uses_complete_blocks_and_names_the_broken_one(capsys, tmp_path):
    text = G2025.read_text()
    cut = [m.start() for m in re.finditer("-----BEGIN CERTIFICATE-----", text)][50] + 400
    path = tmp_path / "truncated.pem"
    path.write_text(text[:cut])
    code, doc = run_json(capsys, "check", str(path))
    assert code == 3  # regions whose roots came after the cut are missing
    assert len(doc["bundle"]["certificates"]) == 50
    damaged = [w["message"] for w in doc["warnings"] if w["code"] == "damaged"]
    assert damaged and "PEM block 51" in damaged[0] and "truncated" in damaged[0]
    code, out, _ = run(capsys, "check", str(path))
    assert "PEM block 51" in out


def test_damaged_base64_block_is_reported(capsys, tmp_path):
    text = G2025.read_text().replace("MII", "M!I", 1)
    path = tmp_path / "damaged.pem"
    path.write_text(text)
    _code, doc = run_json(capsys, "check", str(path))
    assert len(doc["bundle"]["certificates"]) == 107
    assert any("PEM block 1" in w["message"] and "damaged" in w["message"] for w in doc["warnings"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n  \r\n", "is empty"),
        (b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40, "not a certificate bundle"),
        (b"\x30\x82\x01\x00garbage" * 10, "not a certificate bundle"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no readable certificate"),
        (b"\xfe\xed\xfe\xed\x00\x00", "damaged JKS keystore"),
    ],
)
def test_bad_files_are_clear_errors(capsys, tmp_path, content, message):
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    code, out, err = run(capsys, "check", str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_fifty_megabyte_file_is_refused_quickly(capsys, tmp_path):
    path = tmp_path / "huge.pem"
    with path.open("wb") as fh:
        fh.write(G2025.read_bytes())
        fh.truncate(50 * 1024 * 1024)
    start = time.perf_counter()
    code, _, err = run(capsys, "check", str(path))
    assert time.perf_counter() - start < 2
    assert code == 2 and "50.0 MB" in err and "10 MB limit" in err and "--max-size" in err


def test_missing_file_directory_and_bad_options(capsys, tmp_path):
    assert "no such file" in run(capsys, "check", str(tmp_path / "nope.pem"))[2]
    assert "is a directory" in run(capsys, "check", str(tmp_path))[2]
    code, _, err = run(capsys, "check", str(G2025), "--for", "rds-ca-9999")
    assert code == 2 and "unknown CA" in err
    code, _, err = run(capsys, "check", str(G2025), "--region", "eu-wset-1")
    assert code == 2 and "knows no rds-ca-rsa2048-g1 root there" in err
    code, _, err = run(capsys, "check", str(G2025), "--password-env", "RDSCA_NO_SUCH_VAR")
    assert code == 2 and "not set" in err
    for where in (["check", str(G2025)], ["scan", str(tmp_path)]):  # `--password-env "$UNSET"`
        code, _, err = run(capsys, *where, "--password-env", "")
        assert code == 2 and "needs the name of an environment variable" in err, err


# --- warnings on generated hierarchies -----------------------------------------------------


def _make(cn: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, ca: bool):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    iname, ikey = issuer or (name, key)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(iname)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), False)
        .sign(ikey, hashes.SHA256())
    )
    return cert, (name, key)


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def test_pinned_intermediate_and_leaf(capsys, tmp_path):
    _root_cert, root = _make("Example Root", None, ca=True)
    inter, sub = _make("Example Intermediate", root, ca=True)
    leaf, _ = _make("db.example.internal", sub, ca=False)
    path = tmp_path / "pinned.pem"
    path.write_bytes(_pem(inter, leaf))
    code, doc = run_json(capsys, "check", str(path), "--region", "us-east-1")
    assert code == 3
    kinds = [c["kind"] for c in doc["bundle"]["certificates"]]
    assert kinds == ["intermediate", "leaf"]
    codes = {w["code"] for w in doc["warnings"]}
    assert {"pinned-intermediate", "pinned-leaf", "keytool-first-only"} <= codes


def test_lookalike_root_with_the_right_name_is_not_trusted(capsys, tmp_path):
    fake, _ = _make("Amazon RDS us-east-1 Root CA RSA2048 G1", None, ca=True)
    path = tmp_path / "fake.pem"
    path.write_bytes(_pem(fake))
    code, doc = run_json(capsys, "check", str(path), "--region", "us-east-1")
    assert code == 3
    assert "its key is not AWS's" in doc["regions"][0]["detail"]
    assert doc["bundle"]["certificates"][0]["rds_lookalike"] is True
    assert any(w["code"] == "lookalike" for w in doc["warnings"])


def test_json_envelope_keys(capsys):
    _, doc = run_json(capsys, "check", str(G2025), "--region", "us-east-1")
    assert set(doc) == {"schema", "checked_at", "bundle", "ca_id", "trusted", "regions", "warnings"}
    assert set(doc["bundle"]) == {"source", "format", "certificates", "notes"}
    assert set(doc["bundle"]["certificates"][0]) == {
        "index",
        "location",
        "subject",
        "issuer",
        "kind",
        "key",
        "sha256",
        "key_id",
        "not_before",
        "not_after",
        "rds",
        "rds_lookalike",
    }
    assert set(doc["regions"][0]) == {"region", "status", "anchor", "detail"}


def test_catalogue_lists_cas_and_what_a_bundle_adds(capsys, tmp_path):
    code, out, _ = run(capsys, "catalogue")
    assert code == 0 and "rds-ca-rsa2048-g1" in out and "34" in out
    newer, _ = _make("Amazon RDS xx-test-1 Root CA RSA2048 G1", None, ca=True)
    path = tmp_path / "newer.pem"
    path.write_bytes(_pem(newer))
    code, out, _ = run(capsys, "catalogue", "--bundle", str(path))
    assert code == 0 and "1 certificate new" in out and "xx-test-1" in out
    code, doc = run_json(capsys, "check", str(path), "--catalogue-bundle", str(path), "--region", "xx-test-1")
    assert code == 0 and doc["trusted"] is True
