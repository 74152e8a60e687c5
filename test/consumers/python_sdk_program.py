#!/usr/bin/python3
"""Runs a Pulumi Python program that uses the generated soci-eks SDK under the Pulumi Python SDK's own mocks.

The mock monitor stands in for the engine: every resource the program registers (the package components are
remote components, so the engine would send them to the soci-eks provider's Construct) is recorded with the
inputs the SDK serialized. Prints a JSON list of {type, name, inputs}, which the caller hands to the provider's
Construct. Usage: python_sdk_program.py PROGRAM_DIR [CONFIG_JSON]
(needs the generated SDK and the Pulumi Python SDK on PYTHONPATH).
"""
import asyncio
import json
import os
import runpy
import sys

import pulumi
from pulumi.runtime import mocks


class Recorder(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append({"type": args.typ, "name": args.name, "inputs": args.inputs})
        return f"{args.name}-id", {}

    def call(self, args: pulumi.runtime.MockCallArgs):
        raise Exception(f"unexpected invoke {args.token}")


def main():
    program_dir = os.path.abspath(sys.argv[1])
    config = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    project = "soci-eks-python"
    pulumi.runtime.set_all_config({f"{project}:{k}": v for k, v in config.items()})
    recorder = Recorder()
    mocks.set_mocks(recorder, project=project, stack="test", preview=True)
    os.chdir(program_dir)
    runpy.run_path(os.path.join(program_dir, "__main__.py"), run_name="__main__")
    # Let the SDK finish its registrations (they run as asyncio tasks on the mock monitor).
    loop = asyncio.get_event_loop()
    loop.run_until_complete(asyncio.sleep(0.5))
    json.dump(recorder.resources, sys.stdout, indent=2, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
