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
    # TLS only: every request without aws:SecureTransport is denied (issue 24)
    policy = json.loads(c.get_bucket_policy(Bucket=bucket)["Policy"])
    assert {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}.items() <= policy["Statement"][-1].items()


def tags_of(bucket, region="us-east-1"):
    try:
        return {t["Key"]: t["Value"] for t in s3(region).get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except s3(region).exceptions.ClientError:
        return {}


def untouched(bucket, region="us-east-1"):
    """What the role would have set on a bucket: versioning, public access block, a policy (all absent on a bucket
    made by hand here)."""
    c = s3(region)
    assert c.get_bucket_versioning(Bucket=bucket).get("Status") is None
    for call in (c.get_bucket_policy, c.get_public_access_block):
        with pytest.raises(c.exceptions.ClientError):
            call(Bucket=bucket)


def test_buckets_per_environment(moto_server, name):
    region = "us-west-2"
    extra = {
        "cluster": {"metadata": {"name": name, "region": region}},
        "environments": {"qa1": {"buckets": {}}, "qa2": {"buckets": {"asset": f"{name}-custom-asset"}}},
        "assets_tags": {"owner": "tests"},
        "assets_tls_only": True,  # off by default behind the local stack's http:// endpoint
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


def test_no_tls_only_policy_behind_an_http_endpoint(moto_server, name):
    """The local stack's endpoint is http://: no request could satisfy the TLS-only statement, so by default the
    role does not set it there (and the seeding of test_seed_copies_every_object can read the buckets)."""
    extra = {"cluster": {"metadata": {"name": name, "region": "us-east-1"}}, "environments": {"qa1": {}},
             "assets_asset_buckets": False}
    proc, stats = play(extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with pytest.raises(s3().exceptions.ClientError):
        s3().get_bucket_policy(Bucket=f"tidepool-{name}-qa1-data")


def test_bad_inputs_stop_before_any_change(moto_server, name):
    proc, stats = play({"cluster": {"metadata": {"name": name}}, "environments": {"qa1": {}}})
    assert proc.returncode != 0
    assert "region" in proc.stdout
    proc, stats = play({"cluster": {"metadata": {"name": name, "region": "us-east-1"}},
                        "environments": {"qa1": {}}, "assets_environments": ["nope"]})
    assert proc.returncode != 0 and "must name environments" in proc.stdout
    assert not {b for b in all_buckets() if name in b}


OWNER_REFUSED = ("bucket {bucket} exists with tidepool.org/cluster={owner}, tidepool.org/environment={owner_env}, "
                 "not this cluster's (tidepool.org/cluster={cluster}, tidepool.org/environment={env}): refused, "
                 "nothing changed")


def test_derived_names_that_collide_across_clusters_are_refused_before_creation(moto_server, name):
    """(<name>, prod-qa) and (<name>-prod, qa) derive the same bucket names: the second cluster's run stops before it
    creates anything (not even its other environment's buckets) and the first cluster's buckets keep their tags."""
    first = {"cluster": {"metadata": {"name": name, "region": "us-east-1"}}, "environments": {"prod-qa": {}}}
    proc, stats = play(first)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shared = f"tidepool-{name}-prod-qa-data"
    before = {b: tags_of(b) for b in (shared, f"tidepool-{name}-prod-qa-asset")}
    assert before[shared]["tidepool.org/cluster"] == name

    second = {"cluster": {"metadata": {"name": f"{name}-prod", "region": "us-east-1"}},
              "environments": {"qa": {}, "zz": {}}}
    for check in (True, False):
        proc, stats = play(second, check=check)
        assert proc.returncode != 0 and stats.get("failed") == 1, proc.stdout
        assert OWNER_REFUSED.format(bucket=shared, owner=name, owner_env="prod-qa", cluster=f"{name}-prod",
                                    env="qa") in proc.stdout, proc.stdout
        assert {b: tags_of(b) for b in before} == before
        assert {b for b in all_buckets() if name in b} == set(before)  # tidepool-<name>-prod-zz-* not created


def test_two_clusters_of_one_run_that_would_share_a_bucket_are_refused_before_either_changes(moto_server, name,
                                                                                          tmp_path):
    """issue 24: both hosts in one run read the buckets before either creates one, so the owner check alone let the
    second host re-tag the first one's bucket. The preflight compares the run's hosts first: nothing is created."""
    import yaml

    from tests.support.inventory import write_host

    path = tmp_path / "inventory.yml"
    hosts = {}
    for cluster, env in ((name, "prod-qa"), (f"{name}-prod", "qa")):
        hosts[cluster] = write_host(path, cluster, {
            "cluster": {"metadata": {"name": cluster, "region": "us-east-1"}}, "environments": {env: {}},
            "email": "admin@example.com", "aws": {"accountNumber": "123456789012", "iamUsers": []}})
    path.write_text(yaml.safe_dump({"all": {"vars": {"ansible_connection": "local",
                                                     "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                                            "children": {"clusters": {"hosts": hosts}}}}))
    shared = f"tidepool-{name}-prod-qa-data"
    for playbook in (PLAYBOOK, REPO / "site.yml"):
        proc = run_playbook(playbook, inventory=path, limit=",".join(hosts), local_flavour=None,
                            extra_vars={"aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out[-4000:]
        assert (f"bucket {shared} is the bucket of cluster {name} (environments.prod-qa.buckets.data) and cluster "
                f"{name}-prod (environments.qa.buckets.data)") in out, out[-4000:]
        assert all(stats.get("changed") == 0 for stats in recap(proc.stdout).values()), proc.stdout[-4000:]
        assert {b for b in all_buckets() if name in b} == set()


def test_a_bucket_of_another_cluster_is_refused_and_left_untouched(moto_server, name):
    """An inventory copying another cluster's bucket name into environments.<env>.buckets: refused, never
    re-tagged, no setting changed, and nothing else of the run created."""
    theirs = f"{name}-prod-data"
    c = s3()
    c.create_bucket(Bucket=theirs)
    prod_tags = {"tidepool.org/cluster": "prod", "tidepool.org/environment": "qa1", "tidepool.org/bucket": "data"}
    c.put_bucket_tagging(Bucket=theirs, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in prod_tags.items()]})
    extra = {"cluster": {"metadata": {"name": name, "region": "us-east-1"}},
             "environments": {"qa1": {"buckets": {"data": theirs, "adopt": ["data"]}}}}
    proc, stats = play(extra)
    assert proc.returncode != 0, proc.stdout
    assert OWNER_REFUSED.format(bucket=theirs, owner="prod", owner_env="qa1", cluster=name, env="qa1") in proc.stdout
    assert "never re-tagged" in proc.stdout
    assert tags_of(theirs) == prod_tags
    untouched(theirs)
    assert {b for b in all_buckets() if name in b} == {theirs}  # the asset bucket was not created either


def test_an_untagged_bucket_is_taken_over_only_when_adopted(moto_server, name):
    legacy = f"{name}-legacy-asset"
    c = s3()
    c.create_bucket(Bucket=legacy)
    c.put_object(Bucket=legacy, Key="logo.png", Body=b"x")
    extra = {"cluster": {"metadata": {"name": name, "region": "us-east-1"}},
             "environments": {"qa1": {"buckets": {"asset": legacy}}}, "assets_tls_only": True}
    proc, stats = play(extra)
    assert proc.returncode != 0, proc.stdout
    assert (f"bucket {legacy} exists with no tidepool.org/cluster tag (not created by tidepool.eks), not this "
            f"cluster's (tidepool.org/cluster={name}, tidepool.org/environment=qa1)") in proc.stdout
    assert "environments.qa1.buckets.adopt: [asset]" in proc.stdout
    assert tags_of(legacy) == {}
    untouched(legacy)

    extra["environments"]["qa1"]["buckets"]["adopt"] = ["asset"]
    proc, stats = play(extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_bucket(legacy, "us-east-1", {"tidepool.org/cluster": name, "tidepool.org/environment": "qa1"})
    assert [o["Key"] for o in c.list_objects_v2(Bucket=legacy)["Contents"]] == ["logo.png"]
    proc, stats = play(extra)
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout


def test_a_policy_of_someone_else_is_kept_beside_the_tls_statement(moto_server, name):
    extra = {"cluster": {"metadata": {"name": name, "region": "us-east-1"}}, "environments": {"qa1": {}},
             "assets_asset_buckets": False, "assets_tls_only": True}
    proc, stats = play(extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bucket = f"tidepool-{name}-qa1-data"
    audit = {"Sid": "AuditRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3().put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [audit]}))
    proc, stats = play(extra, check=True)
    assert stats["changed"] == 1 and "set the TLS-only bucket policy" in proc.stdout, proc.stdout
    proc, stats = play(extra)
    assert proc.returncode == 0 and stats["changed"] == 1, proc.stdout
    statements = json.loads(s3().get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert [st.get("Sid") for st in statements] == ["AuditRead", "TidepoolDenyInsecureTransport"]
    check_bucket(bucket, "us-east-1", {})
    proc, stats = play(extra)
    assert proc.returncode == 0 and stats["changed"] == 0, proc.stdout
