"""The benchmark organization: seeded accounts, regions and instances, every answer rendered once.

Real estates are skewed: most account-regions hold nothing, many a handful, a few hundreds. Here
each account-region is non-empty with probability `occupied`, and a non-empty one draws a weight
from a log-normal distribution; the weights are scaled so that the fleet holds `instances` in all.
The same seed gives the same organization, byte for byte.

Answers are rendered to bytes here, once, in the wire format botocore parses (query-protocol XML
for RDS, STS and EC2; JSON 1.1 for Organizations), so that serving one costs the stand-in next to
no CPU and the client is what the benchmark measures.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

RDS_NS = "http://rds.amazonaws.com/doc/2014-10-31/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

# The 17 regions enabled by default in a new account (opt-in regions left out).
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
)
MANAGEMENT_ACCOUNT = "100000000000"
RETIRED_CA = "rds-ca-2019"
# (engine, version, family, rotates without restart)
ENGINES = (
    ("postgres", "16.4", "postgres16", True),
    ("postgres", "15.8", "postgres15", True),
    ("postgres", "13.16", "postgres13", True),
    ("mysql", "8.0.39", "mysql8.0", False),
    ("mysql", "5.7.44", "mysql5.7", False),
    ("mariadb", "10.11.9", "mariadb10.11", True),
    ("aurora-postgresql", "15.4", "aurora-postgresql15", True),
    ("aurora-mysql", "8.0.mysql_aurora.3.05.2", "aurora-mysql8.0", False),
)
CAS = (
    ("rds-ca-rsa2048-g1", "2021-05-25T23:34:57Z", "2061-05-25T23:34:57Z"),
    ("rds-ca-rsa4096-g1", "2021-05-25T23:38:24Z", "2121-05-25T23:38:24Z"),
    ("rds-ca-ecc384-g1", "2021-05-25T23:41:38Z", "2121-05-25T23:41:38Z"),
)
PAGE = 100  # DescribeDBInstances' default and rdsca's MaxRecords


def account_ids(n: int) -> tuple[str, ...]:
    """The management account first, then n - 1 member accounts (12 digits each)."""
    return (MANAGEMENT_ACCOUNT, *(f"{200000000000 + 7919 * i:012d}" for i in range(1, n)))


@dataclass(frozen=True)
class Spec:
    accounts: int = 500
    regions: int = 17
    instances: int = 25_000
    occupied: float = 0.22  # share of account-regions holding any instance
    sigma: float = 1.5  # spread of the log-normal weights (the tail of large account-regions)
    cap: int = 1500  # no account-region holds more than this
    retired: float = 0.10  # share of instances on rds-ca-2019
    pending: float = 0.04  # share of instances with a pending maintenance action
    seed: int = 13


@dataclass
class Fleet:
    spec: Spec
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    counts: dict[tuple[str, str], int]  # instances per (account, region), empty ones included
    on_retired: int = 0
    # Rendered answers.
    instance_xml: dict[tuple[str, str], list[bytes]] = field(default_factory=dict, repr=False)
    pending_xml: dict[tuple[str, str], list[bytes]] = field(default_factory=dict, repr=False)
    certificates: dict[str, bytes] = field(default_factory=dict, repr=False)
    engine_versions: dict[tuple[str, str], bytes] = field(default_factory=dict, repr=False)
    regions_answer: bytes = b""
    account_pages: list[bytes] = field(default_factory=list, repr=False)

    @property
    def instances(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict:
        sizes = sorted(self.counts.values())
        return {
            "accounts": list(self.accounts),
            "regions": list(self.regions),
            "management_account": self.accounts[0],
            "instances": self.instances,
            "on_retired_ca": self.on_retired,
            "account_regions": len(self.counts),
            "empty_account_regions": sum(1 for n in sizes if n == 0),
            "largest_account_regions": sizes[-5:][::-1],
            "pages_max": max((-(-n // PAGE) for n in sizes), default=0),
            "counts": {f"{a}/{r}": n for (a, r), n in self.counts.items() if n},
            "spec": self.spec.__dict__,
        }


def draw_counts(
    spec: Spec, accounts: tuple[str, ...], regions: tuple[str, ...]
) -> dict[tuple[str, str], int]:
    rng = random.Random(spec.seed)
    weights: dict[tuple[str, str], float] = {}
    for a in accounts:
        for r in regions:
            weights[(a, r)] = rng.lognormvariate(0.0, spec.sigma) if rng.random() < spec.occupied else 0.0
    total = sum(weights.values()) or 1.0
    counts = {
        k: min(spec.cap, max(1, round(w * spec.instances / total))) if w else 0 for k, w in weights.items()
    }
    # Rounding and the cap move the sum; spread the difference over the non-empty targets.
    nonempty = sorted((k for k, n in counts.items() if n), key=lambda k: -weights[k])
    diff = spec.instances - sum(counts.values())
    i = 0
    while diff and nonempty:
        k = nonempty[i % len(nonempty)]
        step = 1 if diff > 0 else -1
        if 1 <= counts[k] + step <= spec.cap:
            counts[k] += step
            diff -= step
        i += 1
    return counts


def build(spec: Spec) -> Fleet:
    accounts = account_ids(spec.accounts)
    regions = REGIONS[: spec.regions]
    fleet = Fleet(spec, accounts, regions, draw_counts(spec, accounts, regions))
    rng = random.Random(spec.seed + 1)
    for (account, region), n in fleet.counts.items():
        items, pending = [], []
        for i in range(n):
            engine = ENGINES[rng.randrange(len(ENGINES))]
            retired = rng.random() < spec.retired
            fleet.on_retired += retired
            name = f"db-{i:05d}"
            arn = f"arn:aws:rds:{region}:{account}:db:{name}"
            items.append(instance_xml(rng, account, region, name, arn, engine, retired))
            if rng.random() < spec.pending:
                pending.append(pending_xml(arn, retired))
        fleet.instance_xml[(account, region)] = items
        fleet.pending_xml[(account, region)] = pending
    for region in regions:
        fleet.certificates[region] = certificates_answer()
    for engine, version, family, no_restart in ENGINES:
        fleet.engine_versions[(engine, version)] = engine_answer(engine, version, family, no_restart)
    fleet.regions_answer = regions_answer(regions)
    fleet.account_pages = account_pages(accounts)
    return fleet


def _date(rng: random.Random, start_year: int, years: int) -> str:
    day = rng.randrange(365 * years)
    return f"{start_year + day // 365}-{1 + (day % 365) // 31:02d}-{1 + (day % 31) % 28:02d}T08:00:00Z"


def instance_xml(
    rng: random.Random,
    account: str,
    region: str,
    name: str,
    arn: str,
    engine: tuple[str, str, str, bool],
    retired: bool,
) -> bytes:
    """One DBInstance, with the members a real DescribeDBInstances answer carries (about 3 kB),
    so that parsing it costs the client what a real one does."""
    eng, version, family, _ = engine
    ca = RETIRED_CA if retired else CAS[rng.randrange(2)][0]
    valid_till = "2024-08-22T17:08:50Z" if retired else _date(rng, 2027, 2)
    az = f"{region}{'abc'[rng.randrange(3)]}"
    port = 5432 if "postgres" in eng else 3306
    rid = f"db-{rng.getrandbits(100):026X}"[:29]
    host = f"{name}.c{rng.getrandbits(40):010x}.{region}.rds.amazonaws.com"
    cluster = f"<DBClusterIdentifier>{name}-cluster</DBClusterIdentifier>" if eng.startswith("aurora") else ""
    subnets = "".join(
        f"<Subnet><SubnetIdentifier>subnet-{rng.getrandbits(32):08x}</SubnetIdentifier>"
        f"<SubnetAvailabilityZone><Name>{region}{z}</Name></SubnetAvailabilityZone>"
        f"<SubnetOutpost/><SubnetStatus>Active</SubnetStatus></Subnet>"
        for z in "abc"
    )
    return (
        "<DBInstance>"
        f"<DBInstanceIdentifier>{name}</DBInstanceIdentifier>"
        f"<DBInstanceClass>db.{'rtm'[rng.randrange(3)]}6g.large</DBInstanceClass>"
        f"<Engine>{eng}</Engine><DBInstanceStatus>available</DBInstanceStatus>"
        "<MasterUsername>admin</MasterUsername><DBName>app</DBName>"
        f"<Endpoint><Address>{host}</Address><Port>{port}</Port>"
        "<HostedZoneId>Z2R2ITUGPM61AM</HostedZoneId></Endpoint>"
        f"<AllocatedStorage>{20 * (1 + rng.randrange(50))}</AllocatedStorage>"
        "<InstanceCreateTime>2022-03-14T10:11:12.345Z</InstanceCreateTime>"
        "<PreferredBackupWindow>03:00-03:30</PreferredBackupWindow>"
        "<BackupRetentionPeriod>7</BackupRetentionPeriod><DBSecurityGroups/>"
        "<VpcSecurityGroups><VpcSecurityGroupMembership>"
        f"<VpcSecurityGroupId>sg-{rng.getrandbits(32):08x}</VpcSecurityGroupId><Status>active</Status>"
        "</VpcSecurityGroupMembership></VpcSecurityGroups>"
        f"<DBParameterGroups><DBParameterGroup><DBParameterGroupName>default.{family}</DBParameterGroupName>"
        "<ParameterApplyStatus>in-sync</ParameterApplyStatus></DBParameterGroup></DBParameterGroups>"
        f"<AvailabilityZone>{az}</AvailabilityZone>"
        "<DBSubnetGroup><DBSubnetGroupName>default</DBSubnetGroupName>"
        "<DBSubnetGroupDescription>default</DBSubnetGroupDescription>"
        f"<VpcId>vpc-{rng.getrandbits(32):08x}</VpcId><SubnetGroupStatus>Complete</SubnetGroupStatus>"
        f"<Subnets>{subnets}</Subnets></DBSubnetGroup>"
        "<PreferredMaintenanceWindow>sun:05:00-sun:05:30</PreferredMaintenanceWindow>"
        "<PendingModifiedValues/>"
        f"<LatestRestorableTime>2026-12-01T10:00:00Z</LatestRestorableTime>"
        f"<MultiAZ>{'true' if rng.random() < 0.3 else 'false'}</MultiAZ>"
        f"<EngineVersion>{version}</EngineVersion>"
        "<AutoMinorVersionUpgrade>true</AutoMinorVersionUpgrade>"
        "<ReadReplicaDBInstanceIdentifiers/>"
        f"<LicenseModel>{'postgresql-license' if 'postgres' in eng else 'general-public-license'}"
        "</LicenseModel>"
        "<OptionGroupMemberships><OptionGroupMembership>"
        f"<OptionGroupName>default:{eng}</OptionGroupName><Status>in-sync</Status>"
        "</OptionGroupMembership></OptionGroupMemberships>"
        "<PubliclyAccessible>false</PubliclyAccessible><StorageType>gp3</StorageType>"
        f"<DbInstancePort>0</DbInstancePort>{cluster}<StorageEncrypted>true</StorageEncrypted>"
        f"<KmsKeyId>arn:aws:kms:{region}:{account}:key/{rng.getrandbits(128):032x}</KmsKeyId>"
        f"<DbiResourceId>{rid}</DbiResourceId><CACertificateIdentifier>{ca}</CACertificateIdentifier>"
        "<DomainMemberships/><CopyTagsToSnapshot>true</CopyTagsToSnapshot>"
        "<MonitoringInterval>0</MonitoringInterval>"
        f"<DBInstanceArn>{arn}</DBInstanceArn>"
        "<IAMDatabaseAuthenticationEnabled>false</IAMDatabaseAuthenticationEnabled>"
        "<PerformanceInsightsEnabled>false</PerformanceInsightsEnabled>"
        "<DeletionProtection>true</DeletionProtection><AssociatedRoles/>"
        "<TagList>"
        f"<Tag><Key>env</Key><Value>{('dev', 'staging', 'prod')[rng.randrange(3)]}</Value></Tag>"
        f"<Tag><Key>team</Key><Value>team-{rng.randrange(40)}</Value></Tag>"
        "<Tag><Key>cost-center</Key><Value>cc-1234</Value></Tag>"
        "</TagList>"
        "<CustomerOwnedIpEnabled>false</CustomerOwnedIpEnabled>"
        "<ActivityStreamStatus>stopped</ActivityStreamStatus><BackupTarget>region</BackupTarget>"
        "<NetworkType>IPV4</NetworkType><StorageThroughput>125</StorageThroughput>"
        f"<CertificateDetails><CAIdentifier>{ca}</CAIdentifier><ValidTill>{valid_till}</ValidTill>"
        "</CertificateDetails>"
        "<DedicatedLogVolume>false</DedicatedLogVolume>"
        "<IsStorageConfigUpgradeAvailable>false</IsStorageConfigUpgradeAvailable>"
        "<EngineLifecycleSupport>open-source-rds-extended-support</EngineLifecycleSupport>"
        "</DBInstance>"
    ).encode()


def pending_xml(arn: str, retired: bool) -> bytes:
    action = "ca-certificate-rotation" if retired else "system-update"
    return (
        f"<ResourcePendingMaintenanceActions><ResourceIdentifier>{arn}</ResourceIdentifier>"
        "<PendingMaintenanceActionDetails><PendingMaintenanceAction>"
        f"<Action>{action}</Action><Description>{escape('Certificate rotation' if retired else 'Patch')}"
        "</Description><AutoAppliedAfterDate>2027-01-10T00:00:00Z</AutoAppliedAfterDate>"
        "<CurrentApplyDate>2027-01-10T00:00:00Z</CurrentApplyDate>"
        "</PendingMaintenanceAction></PendingMaintenanceActionDetails>"
        "</ResourcePendingMaintenanceActions>"
    ).encode()


def rds_page(action: str, list_name: str, items: list[bytes], marker: str | None, request_id: str) -> bytes:
    marker_xml = f"<Marker>{marker}</Marker>" if marker else ""
    return (
        f'<{action}Response xmlns="{RDS_NS}"><{action}Result><{list_name}>'.encode()
        + b"".join(items)
        + f"</{list_name}>{marker_xml}</{action}Result>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>".encode()
    )


def certificates_answer() -> bytes:
    certs = "".join(
        "<Certificate>"
        f"<CertificateIdentifier>{ca}</CertificateIdentifier><CertificateType>CA</CertificateType>"
        f"<Thumbprint>{abs(hash(ca)) % 10**40:040x}</Thumbprint>"
        f"<ValidFrom>{start}</ValidFrom><ValidTill>{end}</ValidTill>"
        f"<CertificateArn>arn:aws:rds:::cert:{ca}</CertificateArn>"
        "</Certificate>"
        for ca, start, end in CAS
    )
    return (
        f'<DescribeCertificatesResponse xmlns="{RDS_NS}"><DescribeCertificatesResult>'
        f"<DefaultCertificateForNewLaunches>{CAS[0][0]}</DefaultCertificateForNewLaunches>"
        f"<Certificates>{certs}</Certificates></DescribeCertificatesResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        "</ResponseMetadata></DescribeCertificatesResponse>"
    ).encode()


def engine_answer(engine: str, version: str, family: str, no_restart: bool) -> bytes:
    supported = "".join(f"<member>{ca}</member>" for ca, _, _ in CAS)
    return (
        f'<DescribeDBEngineVersionsResponse xmlns="{RDS_NS}"><DescribeDBEngineVersionsResult>'
        "<DBEngineVersions><DBEngineVersion>"
        f"<Engine>{engine}</Engine><EngineVersion>{version}</EngineVersion>"
        f"<DBParameterGroupFamily>{family}</DBParameterGroupFamily>"
        f"<DBEngineDescription>{engine}</DBEngineDescription>"
        f"<DBEngineVersionDescription>{engine} {version}</DBEngineVersionDescription>"
        f"<Status>available</Status><SupportedCACertificateIdentifiers>{supported}"
        "</SupportedCACertificateIdentifiers>"
        f"<SupportsCertificateRotationWithoutRestart>{'true' if no_restart else 'false'}"
        "</SupportsCertificateRotationWithoutRestart>"
        "</DBEngineVersion></DBEngineVersions></DescribeDBEngineVersionsResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId>"
        "</ResponseMetadata></DescribeDBEngineVersionsResponse>"
    ).encode()


def empty_engine_answer() -> bytes:
    return (
        f'<DescribeDBEngineVersionsResponse xmlns="{RDS_NS}"><DescribeDBEngineVersionsResult>'
        "<DBEngineVersions/></DescribeDBEngineVersionsResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000002</RequestId>"
        "</ResponseMetadata></DescribeDBEngineVersionsResponse>"
    ).encode()


def regions_answer(regions: tuple[str, ...]) -> bytes:
    items = "".join(
        f"<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint>"
        "<optInStatus>opt-in-not-required</optInStatus></item>"
        for r in regions
    )
    return (
        f'<DescribeRegionsResponse xmlns="{EC2_NS}"><requestId>00000000-0000-0000-0000-000000000003'
        f"</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
    ).encode()


ACCOUNTS_PER_PAGE = 20  # ListAccounts' MaxResults is at most 20 (Organizations API Reference)


def account_pages(accounts: tuple[str, ...]) -> list[bytes]:
    pages = []
    for start in range(0, len(accounts), ACCOUNTS_PER_PAGE):
        chunk = accounts[start : start + ACCOUNTS_PER_PAGE]
        body: dict = {
            "Accounts": [
                {
                    "Id": a,
                    "Arn": f"arn:aws:organizations::{accounts[0]}:account/o-bench/{a}",
                    "Email": f"aws+{a}@example.com",
                    "Name": f"account-{a}",
                    "Status": "ACTIVE",
                    "State": "ACTIVE",
                    "JoinedMethod": "CREATED",
                    "JoinedTimestamp": 1600000000.0,
                }
                for a in chunk
            ]
        }
        if start + ACCOUNTS_PER_PAGE < len(accounts):
            body["NextToken"] = f"page-{start // ACCOUNTS_PER_PAGE + 1}"
        pages.append(json.dumps(body).encode())
    return pages
