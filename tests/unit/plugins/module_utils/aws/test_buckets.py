"""bucket_drift: what amazon.aws.s3_bucket would change, from one s3_bucket_info answer."""
import json

from ansible_collections.tidepool.eks.plugins.module_utils.aws import buckets as bd

B = {"name": "tidepool-c1-qa1-data", "environment": "qa1", "kind": "data"}
SETTINGS = dict(cluster="c1", encryption="AES256", versioning=True, tags={"owner": "t"})


def good():
    return {"name": B["name"],
            "bucket_encryption": {"ServerSideEncryptionConfiguration": {"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}},
            "public_access_block": {"PublicAccessBlockConfiguration": dict.fromkeys(bd.PUBLIC_ACCESS_KEYS, True)},
            "bucket_versioning": {"Status": "Enabled"},
            "bucket_tagging": {"owner": "t", "tidepool.org/cluster": "c1", "tidepool.org/environment": "qa1",
                               "tidepool.org/bucket": "data", "someone-else": "x"},
            "bucket_policy": {"Policy": json.dumps({"Version": "2012-10-17",
                                                    "Statement": [bd.tls_statement(B["name"])]})}}


def test_missing_bucket_is_created():
    assert bd.drift([B], [], **SETTINGS) == [
        {**B, "changes": ["create (AES256, public access blocked, versioned, TLS-only policy)"],
         "policy": {"Version": "2012-10-17", "Statement": [bd.tls_statement(B["name"])]}}]


def test_bucket_as_wanted_has_no_drift_and_foreign_tags_are_kept():
    assert bd.drift([B], [good()], **SETTINGS) == []


def test_each_kind_of_drift_is_named():
    have = good()
    have["bucket_versioning"] = {"Status": "Suspended"}
    have["public_access_block"] = {}
    have["bucket_encryption"] = {}
    have["bucket_tagging"]["owner"] = "other"
    have["bucket_policy"] = {}
    assert bd.changes(B, have, **SETTINGS) == [
        "set encryption AES256 (now none)", "block all public access", "enable versioning", "set tags owner",
        "set the TLS-only bucket policy (deny aws:SecureTransport false)"]
    assert bd.changes(B, good(), **dict(SETTINGS, purge_tags=True)) == ["set tags someone-else (remove)"]
    assert bd.changes(B, good(), **dict(SETTINGS, versioning=False)) == ["suspend versioning"]
    kms = dict(SETTINGS, encryption="aws:kms", kms_key_id="k1")
    assert bd.changes(B, good(), **kms) == ["set encryption aws:kms (now AES256)"]


def test_name_filter_is_the_common_prefix():
    assert bd.name_filter(["tidepool-c1-qa1-data", "tidepool-c1-qa1-asset", "tidepool-c1-prd-data"]) == "tidepool-c1-"
    assert bd.name_filter(["tidepool-c1-qa1-data", "custom"]) == ""
    assert bd.name_filter([]) == ""


TLS = {"Sid": bd.TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
       "Resource": [f"arn:aws:s3:::{B['name']}", f"arn:aws:s3:::{B['name']}/*"],
       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def test_the_tls_only_statement_denies_requests_without_tls():
    assert bd.tls_statement(B["name"]) == TLS


def test_a_policy_of_someone_else_is_kept_and_the_tls_statement_added_once():
    theirs = {"Sid": "AuditRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/audit"},
              "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{B['name']}/*"}
    have = dict(good(), bucket_policy={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [theirs]})})
    assert bd.changes(B, have, **SETTINGS) == ["set the TLS-only bucket policy (deny aws:SecureTransport false)"]
    [entry] = bd.drift([B], [have], **SETTINGS)
    assert entry["policy"]["Statement"] == [theirs, TLS]
    # The role's statement changed by hand (Allow instead of Deny) is replaced, not kept beside the right one.
    wrong = dict(TLS, Effect="Allow")
    have["bucket_policy"] = {"Policy": json.dumps({"Version": "2012-10-17", "Statement": [theirs, wrong]})}
    assert bd.drift([B], [have], **SETTINGS)[0]["policy"]["Statement"] == [theirs, TLS]


def test_the_policy_as_aws_returns_it_is_the_same_policy():
    """AWS may return one-item lists as scalars and lists in another order: still no drift."""
    returned = dict(TLS, Resource=list(reversed(TLS["Resource"])), Action=["s3:*"])
    have = dict(good(), bucket_policy={"Policy": json.dumps({"Version": "2012-10-17", "Statement": returned})})
    assert bd.changes(B, have, **SETTINGS) == []
