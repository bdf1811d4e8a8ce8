# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Shared AWS connection options of tidepool.eks (implemented by plugins/module_utils/aws/connection.py).

``extends_documentation_fragment: [tidepool.eks.aws]`` for modules,
``tidepool.eks.aws.plugins`` for lookups (same options, read on the controller, with ``env`` entries).
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  region:
    description:
      - AWS region of the API calls, for example the cluster's C(cluster.metadata.region).
      - When unset, C(AWS_REGION), then C(AWS_DEFAULT_REGION), then the region of the profile are used.
    type: str
    aliases: [aws_region]
  profile:
    description:
      - Named profile of the AWS shared configuration (C(~/.aws/config), C(~/.aws/credentials)).
      - Falls back to C(AWS_PROFILE). Mutually exclusive with O(aws_access_key_id) and O(aws_secret_access_key).
    type: str
    aliases: [aws_profile]
  endpoint_url:
    description:
      - URL of the AWS API endpoint to use instead of the public one, for example a moto server
        (V(http://127.0.0.1:5000)) or a VPC endpoint. The same URL is used for every service the task calls.
      - Falls back to C(AWS_ENDPOINT_URL), the SDK's standard variable.
    type: str
    aliases: [aws_endpoint_url]
  aws_access_key_id:
    description:
      - AWS access key id. Falls back to C(AWS_ACCESS_KEY_ID); usually left unset so the SDK credential
        chain (profile, environment, instance or IRSA role) applies.
    type: str
    aliases: [access_key]
  aws_secret_access_key:
    description:
      - AWS secret access key, given together with O(aws_access_key_id). Falls back to C(AWS_SECRET_ACCESS_KEY).
      - Never logged.
    type: str
    aliases: [secret_key]
  aws_session_token:
    description:
      - Session token of temporary credentials. Falls back to C(AWS_SESSION_TOKEN). Never logged.
    type: str
    aliases: [session_token]
  retries:
    description:
      - How many times botocore retries a throttled or transiently failed call (ThrottlingException,
        TooManyRequestsException, 5xx, connection errors), with exponential backoff and jitter.
    type: int
    default: 10
  retry_mode:
    description:
      - botocore retry mode. V(standard) retries with backoff; V(adaptive) also rate-limits the client
        when AWS throttles, useful for large batches.
    type: str
    choices: [standard, adaptive]
    default: standard
notes:
  - AWS credentials and the endpoint are read on the host that runs the task (the controller for the
    usual C(ansible_connection=local) cluster hosts).
  - Use C(module_defaults) with the action group C(group/tidepool.eks.aws) to set these options once per play.
requirements:
  - boto3 >= 1.34
  - botocore >= 1.34
"""

    PLUGINS = r"""
options:
  region:
    description:
      - AWS region. Falls back to C(AWS_REGION), C(AWS_DEFAULT_REGION), then the region of the profile.
    type: str
    aliases: [aws_region]
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
  profile:
    description:
      - Named AWS profile. Mutually exclusive with O(aws_access_key_id).
    type: str
    aliases: [aws_profile]
    env:
      - name: AWS_PROFILE
  endpoint_url:
    description:
      - URL of the AWS API endpoint (for example a moto server).
    type: str
    aliases: [aws_endpoint_url]
    env:
      - name: AWS_ENDPOINT_URL
  aws_access_key_id:
    description:
      - AWS access key id.
    type: str
    aliases: [access_key]
    env:
      - name: AWS_ACCESS_KEY_ID
  aws_secret_access_key:
    description:
      - AWS secret access key.
    type: str
    aliases: [secret_key]
    env:
      - name: AWS_SECRET_ACCESS_KEY
  aws_session_token:
    description:
      - Session token of temporary credentials.
    type: str
    aliases: [session_token]
    env:
      - name: AWS_SESSION_TOKEN
  retries:
    description:
      - How many times botocore retries a throttled or transiently failed call.
    type: int
    default: 10
  retry_mode:
    description:
      - botocore retry mode.
    type: str
    choices: [standard, adaptive]
    default: standard
notes:
  - Lookups run on the controller and read its environment and AWS configuration.
"""
