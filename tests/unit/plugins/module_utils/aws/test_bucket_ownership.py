"""Bucket ownership: the assets role refuses another cluster's (or an unadopted untagged) bucket; teardown deletes
only this cluster's."""
from ansible_collections.tidepool.eks.plugins.filter.naming import environment_buckets
from ansible_collections.tidepool.eks.plugins.module_utils.aws import bucket_ownership as own


def tagged(name, cluster, env, **extra):
    tags = {"tidepool.org/cluster": cluster, "tidepool.org/environment": env, **extra}
    return {"name": name, "bucket_tagging": {k: v for k, v in tags.items() if v is not None}}


def test_derived_names_collide_across_clusters_and_the_second_cluster_is_refused():
    first = environment_buckets({"prod-qa": {}}, "test")
    second = environment_buckets({"qa": {}}, "test-prod")
    assert {b["name"] for b in first} == {b["name"] for b in second} == {
        "tidepool-test-prod-qa-data", "tidepool-test-prod-qa-asset"}
    info = [tagged(b["name"], "test", "prod-qa") for b in first]
    assert own.refusals(first, info, cluster="test") == []
    errors = own.refusals(second, info, cluster="test-prod")
    assert errors == [
        "bucket tidepool-test-prod-qa-data exists with tidepool.org/cluster=test, tidepool.org/environment=prod-qa, "
        "not this cluster's (tidepool.org/cluster=test-prod, tidepool.org/environment=qa): refused, nothing changed "
        "(another cluster's bucket is never re-tagged; name another bucket in environments.qa.buckets.data)",
        "bucket tidepool-test-prod-qa-asset exists with tidepool.org/cluster=test, tidepool.org/environment=prod-qa, "
        "not this cluster's (tidepool.org/cluster=test-prod, tidepool.org/environment=qa): refused, nothing changed "
        "(another cluster's bucket is never re-tagged; name another bucket in environments.qa.buckets.asset)"]


def test_another_environment_or_a_partial_tag_is_refused():
    b = {"name": "shared", "environment": "qa1", "kind": "data"}
    assert "tidepool.org/environment=qa2" in own.refusal(b, tagged("shared", "c1", "qa2"), cluster="c1")
    partial = own.refusal(b, tagged("shared", "c1", None), cluster="c1")
    assert "tidepool.org/cluster=c1, tidepool.org/environment=(none)" in partial


def test_an_untagged_bucket_needs_adoption_and_adoption_never_covers_another_clusters_bucket():
    b = {"name": "legacy-data", "environment": "qa1", "kind": "data"}
    untagged = {"name": "legacy-data", "bucket_tagging": {"owner": "ops"}}
    why = own.refusal(b, untagged, cluster="c1", environments={"qa1": {"buckets": {"data": "legacy-data"}}})
    assert why.startswith("bucket legacy-data exists with no tidepool.org/cluster tag (not created by tidepool.eks), "
                          "not this cluster's (tidepool.org/cluster=c1, tidepool.org/environment=qa1)")
    assert "environments.qa1.buckets.adopt: [data]" in why
    adopting = {"qa1": {"buckets": {"data": "legacy-data", "adopt": ["data"]}}}
    assert own.refusal(b, untagged, cluster="c1", environments=adopting) is None
    # adopt names the kind: the asset bucket is not adopted by it
    assert own.refusal(dict(b, kind="asset"), untagged, cluster="c1", environments=adopting) is not None
    assert own.refusal(b, tagged("legacy-data", "prod", "qa1"), cluster="c1", environments=adopting) is not None
    # an untagged bucket whose tags could not be read (s3_bucket_info gives {}) is refused, not taken over
    assert own.refusal(b, {"name": "legacy-data", "bucket_tagging": {}}, cluster="c1") is not None


def test_missing_and_own_buckets_are_not_refused():
    b = {"name": "tidepool-c1-qa1-data", "environment": "qa1", "kind": "data"}
    assert own.refusals([b], [], cluster="c1") == []
    assert own.refusals([b], [tagged(b["name"], "c1", "qa1", owner="x")], cluster="c1") == []


def test_teardown_deletes_only_this_clusters_buckets_and_names_the_others():
    wanted = environment_buckets({"qa": {}, "prd": {"buckets": {"data": "prod-data"}}}, "c1")
    info = [tagged("tidepool-c1-qa-data", "c1", "qa"), tagged("tidepool-c1-qa-asset", "c2", "qa"),
            {"name": "prod-data", "bucket_tagging": {}}]
    assert own.partition(wanted, info, cluster="c1") == {
        "delete": ["tidepool-c1-qa-data"],
        "kept": ["prod-data: no tidepool.org/cluster tag (not created by tidepool.eks), not tidepool.org/cluster=c1, "
                 "tidepool.org/environment=prd",
                 "tidepool-c1-qa-asset: tidepool.org/cluster=c2, tidepool.org/environment=qa, not "
                 "tidepool.org/cluster=c1, tidepool.org/environment=qa"],
        "absent": ["tidepool-c1-prd-asset"]}


def test_read_tags_tells_no_tags_from_a_denied_read():
    """s3_bucket_info reads a denied GetBucketTagging as {}: the buckets that look untagged are read again, where only
    NoSuchTagSet is "no tags", NoSuchBucket a missing bucket and anything else a failure naming the action."""
    import boto3
    import pytest
    from moto import mock_aws

    from ansible_collections.tidepool.eks.plugins.filter.assets import bucket_refusals
    from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
        s3.create_bucket(Bucket="mine")
        s3.put_bucket_tagging(Bucket="mine", Tagging={"TagSet": [{"Key": "tidepool.org/cluster", "Value": "c1"},
                                                                 {"Key": "tidepool.org/environment", "Value": "qa1"}]})
        s3.create_bucket(Bucket="bare")

        def call(name):
            return aws.call(s3, "get_bucket_tagging", name, Bucket=name).get("TagSet")
        tags = own.read_tags(call, ["mine", "bare", "gone"])
    assert tags == {"mine": {"tidepool.org/cluster": "c1", "tidepool.org/environment": "qa1"}, "bare": {},
                    "gone": None}

    def denied(name):
        raise aws.AwsError(f"s3.GetBucketTagging on {name} failed: AccessDenied: Access Denied; the IAM policy of "
                           "these credentials must allow s3:GetBucketTagging (docs/iam/).", code="AccessDenied")
    with pytest.raises(aws.AwsError, match="AccessDenied.*s3:GetBucketTagging"):
        own.read_tags(denied, ["mine"])

    wanted = [{"name": "mine", "environment": "qa1", "kind": "data"}, {"name": "bare", "environment": "qa1",
                                                                       "kind": "asset"}]
    listed = [{"name": "mine", "bucket_tagging": {}}, {"name": "bare", "bucket_tagging": {}}]  # as s3_bucket_info
    assert own.untagged_existing(wanted, listed) == ["mine", "bare"]
    # confirmed: "mine" is this cluster's after all; "bare" really has no tags (refused until adopted)
    errors = bucket_refusals(wanted, listed, "c1", {}, confirmed=tags)
    assert len(errors) == 1 and errors[0].startswith("bucket bare exists with no tidepool.org/cluster tag")
    assert own.with_tags(listed, {"bare": None}) == [{"name": "mine", "bucket_tagging": {}}]


def test_two_clusters_of_one_run_deriving_one_bucket_name_are_named_together():
    """(test, prod-qa) and (test-prod, qa) derive tidepool-test-prod-qa-data: the run is refused naming both."""
    from ansible_collections.tidepool.eks.plugins.filter.assets import bucket_collisions
    values = {"a": {"cluster": {"metadata": {"name": "test"}}, "environments": {"prod-qa": {}}},
              "b": {"cluster": {"metadata": {"name": "test-prod"}}, "environments": {"qa": {}, "zz": {}}}}
    found = bucket_collisions(values)
    assert [m.split(" is the bucket of ")[0] for m in found] == [
        "bucket tidepool-test-prod-qa-asset", "bucket tidepool-test-prod-qa-data"]
    assert ("cluster test (environments.prod-qa.buckets.data) and cluster test-prod (environments.qa.buckets.data)"
            in found[1])


def test_a_name_copied_from_another_cluster_collides_and_distinct_names_do_not():
    one = [{"name": "shared", "environment": "qa1", "kind": "data"}]
    two = [{"name": "shared", "environment": "qa2", "kind": "asset"}, {"name": "own", "environment": "qa2",
                                                                        "kind": "data"}]
    [msg] = own.collisions({"prod": one, "test": two})
    assert msg.startswith("bucket shared is the bucket of cluster prod (environments.qa1.buckets.data) and cluster "
                          "test (environments.qa2.buckets.asset)")
    assert own.collisions({"prod": one, "test": two[1:]}) == []
    assert own.collisions({"prod": one + one}) == []  # one cluster's duplicates: the role's own check
