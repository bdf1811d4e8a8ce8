"""The assets role (make_assets) through ansible-playbook against the moto server of the local stack."""
from __future__ import annotations

import json
import os
import uuid

import boto3
import pytest

from tests.support.helpers import REPO, recap, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "playbooks" / "assets.yml"


def play(extra: dict, *, check=False, diff=False, verbosity=0):
    extra = dict(extra, aws_endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    proc = run_playbook(PLAYBOOK, limit="local", extra_vars=extra, check=check, diff=diff, verbosity=verbosity)
    return proc, recap(proc.stdout).get("local", {})


@pytest.fixture
def name():
    return "as-" + uuid.uuid4().hex[:8]


def s3(region="us-east-1"):
    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=region)


def all_buckets():
    return {b["Name"] for b in s3().list_buckets()["Buckets"]}


def check_bucket(bucket, region, tags):
    c = s3(region)
    loc = c.get_bucket_location(Bucket=bucket)["LocationConstraint"]
    assert (loc or "us-east-1") == region
    rule = c.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    pab = c.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab[k] for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))
    assert c.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    have = {t["Key"]: t["Value"] for t in c.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags.items() <= have.items()


def test_buckets_per_environment(moto_server, name):
    region = "us-west-2"
    extra = {
        "cluster": {"metadata": {"name": name, "region": region}},
        "environments": {"qa1": {"buckets": {}}, "qa2": {"buckets": {"asset": f"{name}-custom-asset"}}},
        "assets_tags": {"owner": "tests"},
    }
    want = {f"tidepool-{name}-qa1-data", f"tidepool-{name}-qa1-asset", f"tidepool-{name}-qa2-data",
            f"{name}-custom-asset"}

    # check mode: predicts 4 creations, creates nothing
    proc, stats = play(extra, check=True, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stats["changed"] == 1 and stats["failed"] == 0
    for bucket in want:
        assert f"{bucket}: create" in proc.stdout
    assert not {b for b in all_buckets() if name in b}

    proc, stats = play(extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stats["changed"] >= 1
    assert {b for b in all_buckets() if name in b} == want
    for bucket in want:
        env = "qa1" if "qa1" in bucket else "qa2"
        kind = "data" if bucket.endswith("-data") else "asset"
        check_bucket(bucket, region, {"owner": "tests", "tidepool.org/cluster": name,
                                      "tidepool.org/environment": env, "tidepool.org/bucket": kind})

    # second run unchanged; check mode unchanged
    proc, stats = play(extra)
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout
    proc, stats = play(extra, check=True, diff=True)
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout
    assert "buckets up to date" in proc.stdout

    # drift is predicted in check mode and repaired by a real run
    c = s3(region)
    c.put_bucket_versioning(Bucket=f"tidepool-{name}-qa1-data", VersioningConfiguration={"Status": "Suspended"})
    c.delete_public_access_block(Bucket=f"{name}-custom-asset")
    proc, stats = play(extra, check=True, diff=True)
    assert stats["changed"] == 1, proc.stdout
    assert f"tidepool-{name}-qa1-data: enable versioning" in proc.stdout
    assert f"{name}-custom-asset: block all public access" in proc.stdout
    assert c.get_bucket_versioning(Bucket=f"tidepool-{name}-qa1-data")["Status"] == "Suspended"
    proc, stats = play(extra)
    assert stats["changed"] == 1, proc.stdout
    check_bucket(f"tidepool-{name}-qa1-data", region, {})
    check_bucket(f"{name}-custom-asset", region, {})


def test_seed_copies_every_object(moto_server, name):
    source = f"{name}-seed-src"
    src = s3()
    src.create_bucket(Bucket=source)
    keys = ["index.html", "img/logo.png", "img/icons/a.svg", "email/signup/en.html", "email/signup/fr.html"]
    for i, key in enumerate(keys):
        src.put_object(Bucket=source, Key=key, Body=f"content {i} of {key}".encode())
    extra = {
        "cluster": {"metadata": {"name": name, "region": "us-east-1"}},
        "environments": {"qa1": {}, "prd": {"buckets": {"data": f"{name}-prd-data"}}},
        "assets_seed_source_bucket": source,
    }
    asset_buckets = [f"tidepool-{name}-qa1-asset", f"tidepool-{name}-prd-asset"]

    proc, stats = play(extra, check=True)
    assert proc.returncode == 0 and stats["changed"] >= 1, proc.stdout + proc.stderr
    assert not {b for b in all_buckets() if name in b} - {source}

    proc, stats = play(extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for bucket in asset_buckets:
        objs = src.list_objects_v2(Bucket=bucket).get("Contents", [])
        assert sorted(o["Key"] for o in objs) == sorted(keys)
        for key in keys:
            assert src.get_object(Bucket=bucket, Key=key)["Body"].read() == \
                src.get_object(Bucket=source, Key=key)["Body"].read()
    # data buckets are not seeded
    assert src.list_objects_v2(Bucket=f"{name}-prd-data").get("KeyCount", 0) == 0

    proc, stats = play(extra)
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout
    proc, stats = play(extra, check=True)
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout

    # a changed and a new source object are copied; nothing else
    src.put_object(Bucket=source, Key="img/logo.png", Body=b"new logo")
    src.put_object(Bucket=source, Key="email/reset/en.html", Body=b"reset")
    proc, stats = play(extra, check=True)
    assert stats["changed"] == 1, proc.stdout
    assert src.get_object(Bucket=asset_buckets[0], Key="img/logo.png")["Body"].read() != b"new logo"
    proc, stats = play(extra)
    assert stats["changed"] == 1, proc.stdout
    for bucket in asset_buckets:
        assert src.get_object(Bucket=bucket, Key="img/logo.png")["Body"].read() == b"new logo"
        assert src.get_object(Bucket=bucket, Key="email/reset/en.html")["Body"].read() == b"reset"


def test_bad_inputs_stop_before_any_change(moto_server, name):
    proc, stats = play({"cluster": {"metadata": {"name": name}}, "environments": {"qa1": {}}})
    assert proc.returncode != 0
    assert "region" in proc.stdout
    proc, stats = play({"cluster": {"metadata": {"name": name, "region": "us-east-1"}},
                        "environments": {"qa1": {}}, "assets_environments": ["nope"]})
    assert proc.returncode != 0 and "must name environments" in proc.stdout
    assert not {b for b in all_buckets() if name in b}
