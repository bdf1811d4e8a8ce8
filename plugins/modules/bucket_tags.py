#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: bucket_tags
short_description: Read the tags of S3 buckets, failing on any error but S3's NoSuchTagSet
version_added: 0.3.0
description:
  - Internal helper of the C(assets) role's ownership check (docs/assets.md). C(amazon.aws.s3_bucket_info) passes
    over every S3 error of its facts, so a bucket whose tags cannot be read (C(AccessDenied)) looks untagged; the
    role reads such buckets again here before it trusts that they carry no owner tag.
  - One C(GetBucketTagging) per bucket. S3's C(NoSuchTagSet) is a bucket without tags (V({})), C(NoSuchBucket) a
    bucket that does not exist (V(null)); any other error fails the task with one sentence naming the operation,
    the bucket and, for a denial, the IAM action to allow (C(s3:GetBucketTagging)).
extends_documentation_fragment:
  - tidepool.eks.aws
  - tidepool.eks.attributes.read_only
options:
  names:
    description: The bucket names.
    type: list
    elements: str
    required: true
author:
  - Tidepool EKS maintainers (@tidepool-org)
"""

EXAMPLES = r"""
- name: Confirm that the buckets that read as untagged have no tags
  tidepool.eks.bucket_tags:
    names: [tidepool-test1-qa1-data]
    region: us-west-2
"""

RETURN = r"""
tags:
  description: "Tags of each bucket, C(name) -> C({key: value}) (V({}) without tags, V(null) for a missing bucket)."
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tidepool.eks.plugins.module_utils.aws import bucket_ownership
from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import runner


def main():
    spec = aws.aws_argument_spec()
    spec.update(names=dict(type="list", elements="str", required=True))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def work():
        s3 = aws.client("s3", p)
        tags = bucket_ownership.read_tags(
            lambda name: aws.call(s3, "get_bucket_tagging", name, Bucket=name).get("TagSet"), p["names"])
        return {"changed": False, "tags": tags}

    runner.run(module, work, requires=(aws,), errors=(aws.AwsError,), unexpected="bucket_tags")


if __name__ == "__main__":
    main()
