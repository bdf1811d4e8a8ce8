"""bucket_drift: what amazon.aws.s3_bucket would change, from one s3_bucket_info answer."""
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
                               "tidepool.org/bucket": "data", "someone-else": "x"}}


def test_missing_bucket_is_created():
    assert bd.drift([B], [], **SETTINGS) == [
        {"name": B["name"], "changes": ["create (AES256, public access blocked, versioned)"]}]


def test_bucket_as_wanted_has_no_drift_and_foreign_tags_are_kept():
    assert bd.drift([B], [good()], **SETTINGS) == []


def test_each_kind_of_drift_is_named():
    have = good()
    have["bucket_versioning"] = {"Status": "Suspended"}
    have["public_access_block"] = {}
    have["bucket_encryption"] = {}
    have["bucket_tagging"]["owner"] = "other"
    assert bd.changes(B, have, **SETTINGS) == [
        "set encryption AES256 (now none)", "block all public access", "enable versioning", "set tags owner"]
    assert bd.changes(B, good(), **dict(SETTINGS, purge_tags=True)) == ["set tags someone-else (remove)"]
    assert bd.changes(B, good(), **dict(SETTINGS, versioning=False)) == ["suspend versioning"]
    kms = dict(SETTINGS, encryption="aws:kms", kms_key_id="k1")
    assert bd.changes(B, good(), **kms) == ["set encryption aws:kms (now AES256)"]


def test_name_filter_is_the_common_prefix():
    assert bd.name_filter(["tidepool-c1-qa1-data", "tidepool-c1-qa1-asset", "tidepool-c1-prd-data"]) == "tidepool-c1-"
    assert bd.name_filter(["tidepool-c1-qa1-data", "custom"]) == ""
    assert bd.name_filter([]) == ""
