#!/usr/bin/python3
"""Feeds a user-data MIME document to Debian's cloud-init, the real consumer on the node.

Runs cloud-init's own UserDataProcessor (the MIME walk cloud-init does at boot), hands each
part to the cloud-init part handler for its content type (shell scripts and cloud-config),
validates the merged cloud-config against cloud-init's JSON schema, and prints a JSON report:
parts seen, scripts written, write_files paths, unhandled content types.
With ROOT, cloud-init's own write_files module (cc_write_files) then writes every file under ROOT
(decoding gz+b64 and setting permissions as on a node; ownership is left to the test's user).
Usage: cloudinit_consume.py USERDATA_FILE WORKDIR [ROOT]
       cloudinit_consume.py --batch JOBS.json   (a list of [USERDATA_FILE, WORKDIR, ROOT]: prints a list
       of {"report": ...} or {"error": "..."}, one per job, from one Python process)
"""
import json
import os
import sys

from cloudinit import handlers
from cloudinit.config import cc_write_files
from cloudinit.config.schema import get_schema, validate_cloudconfig_schema
from cloudinit.handlers.cloud_config import CloudConfigPartHandler
from cloudinit.handlers.shell_script import ShellScriptPartHandler
from cloudinit.helpers import Paths
from cloudinit.settings import PER_INSTANCE
from cloudinit.user_data import UserDataProcessor
import yaml


class _LabDatasource:
    """What cloud-init's Paths needs of a datasource: an instance id for the per-instance dirs."""

    def get_instance_id(self) -> str:
        return "i-0soci0eks0lab"


def consume(userdata_file, workdir, root):
    paths = Paths({"cloud_dir": os.path.join(workdir, "cloud"), "run_dir": os.path.join(workdir, "run")})
    paths.datasource = _LabDatasource()
    os.makedirs(paths.get_ipath_cur(), exist_ok=True)
    with open(userdata_file, encoding="utf-8") as f:
        message = UserDataProcessor(paths).process(f.read())

    shell = ShellScriptPartHandler(paths)
    cloud_config = CloudConfigPartHandler(paths)
    by_type = {}
    for h in (shell, cloud_config):
        for ctype in h.list_types():
            by_type[ctype] = h
    report = {"parts": [], "unhandled": [], "scripts": [], "write_files": []}
    for h in (shell, cloud_config):
        handlers.call_begin(h, None, PER_INSTANCE)
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        ctype = part.get_content_type()
        payload = part.get_payload(decode=True).decode("utf-8")
        filename = part.get_filename()
        report["parts"].append({"contentType": ctype, "filename": filename, "bytes": len(payload)})
        handler = by_type.get(ctype)
        if handler is None:
            report["unhandled"].append(ctype)
            continue
        handlers.run_part(handler, None, filename, payload, PER_INSTANCE, {"Content-Type": ctype})
    for h in (shell, cloud_config):
        handlers.call_end(h, None, PER_INSTANCE)

    scripts_dir = paths.get_ipath_cur("scripts")
    if os.path.isdir(scripts_dir):
        report["scripts"] = sorted(os.listdir(scripts_dir))
    merged_path = cloud_config.cloud_fn
    merged = {}
    if os.path.exists(merged_path):
        with open(merged_path, encoding="utf-8") as f:
            merged = yaml.safe_load(f) or {}
    if merged:
        # Raises SchemaValidationError (non-zero exit) if cloud-init would reject the config.
        validate_cloudconfig_schema(merged, get_schema(), strict=True)
        report["write_files"] = [w["path"] for w in merged.get("write_files", [])]
        if root is not None:
            rebased = [dict(w, path=os.path.join(root, w["path"].lstrip("/"))) for w in merged.get("write_files", [])]
            cc_write_files.util.chownbyname = lambda *_args: None
            cc_write_files.write_files("write_files", rebased, "root:root")
    return report


def main() -> int:
    if sys.argv[1] == "--batch":
        with open(sys.argv[2], encoding="utf-8") as f:
            jobs = json.load(f)
        out = []
        for userdata_file, workdir, root in jobs:
            try:
                out.append({"report": consume(userdata_file, workdir, root)})
            except Exception as e:  # one bad document must not hide the others' reports
                out.append({"error": f"{type(e).__name__}: {e}"})
        json.dump(out, sys.stdout)
        return 0
    report = consume(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
