#!/usr/bin/python3
"""Prints the pytest node ids of the tests that failed or erred in a JUnit
XML report written with junit_family=xunit1, one per line.

    failed-tests.py REPORT.xml ROOTDIR

ROOTDIR is the pytest rootdir the report's file names are relative to.
"""
import sys
import xml.etree.ElementTree as ET

report, rootdir = sys.argv[1], sys.argv[2].rstrip("/")
for case in ET.parse(report).getroot().iter("testcase"):
    if case.find("failure") is None and case.find("error") is None:
        continue
    path = case.get("file")
    module = path[:-3].replace("/", ".") if path.endswith(".py") else path
    classes = case.get("classname", "")[len(module) + 1:]
    parts = [f"{rootdir}/{path}"] + ([*classes.split(".")] if classes else []) + [case.get("name")]
    print("::".join(parts))
