"""The local stack's moto recording: which requests are replayed, and compaction of the file."""
import base64
import json
import os
import stat

from local_stack import moto_state


def entry(method, url, headers=None, body="", encoded=False):
    if encoded:
        body = base64.b64encode(body.encode()).decode()
    return {"method": method, "url": url, "headers": headers or {}, "body": body, "body_encoded": encoded}


def test_reads_and_writes_of_each_protocol():
    json_target = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
    assert moto_state.is_read_only(entry("POST", "http://h/", json_target))
    assert not moto_state.is_read_only(entry("POST", "http://h/", dict(json_target, **{
        "X-Amz-Target": "secretsmanager.CreateSecret"})))
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert moto_state.is_read_only(entry("POST", "http://h/", form, "Action=DescribeVpcs&Version=2016-11-15", True))
    assert moto_state.is_read_only(entry("POST", "http://h/", form, "Action=GetCallerIdentity&Version=2011-06-15"))
    assert not moto_state.is_read_only(entry("POST", "http://h/", form, "Action=CreateVpc&CidrBlock=10.0.0.0/16"))
    assert moto_state.is_read_only(entry("GET", "http://h/?Action=ListUsers"))
    # REST (S3, EKS): the method decides
    assert moto_state.is_read_only(entry("GET", "http://h/bucket?tagging"))
    assert moto_state.is_read_only(entry("HEAD", "http://h/bucket"))
    assert not moto_state.is_read_only(entry("PUT", "http://h/bucket?versioning"))
    assert not moto_state.is_read_only(entry("POST", "http://h/bucket?delete"))


def test_compact_keeps_writes_in_order_and_drops_broken_lines(tmp_path):
    path = moto_state.recording_path(tmp_path)
    moto_state.prepare(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    writes = [entry("PUT", "http://h/b1"), entry("PUT", "http://h/b1/key", body="v1"),
              entry("DELETE", "http://h/b1/key")]
    lines = [json.dumps(writes[0]), json.dumps(entry("GET", "http://h/b1")), json.dumps(writes[1]),
             json.dumps(entry("POST", "http://h/moto-api/recorder/start-recording")), json.dumps(writes[2]),
             '{"method": "PUT", "url": "http://h/cut-sh']
    path.write_text("\n".join(lines))
    assert moto_state.compact(path) == (3, 3)
    assert [json.loads(line) for line in path.read_text().splitlines()] == writes
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert moto_state.compact(path) == (3, 0)
    assert moto_state.compact(tmp_path / "missing.jsonl") == (0, 0)
