#!/usr/bin/python3
"""Keeps the D-Bus contract documented and docs/ true to it.

- Every interface, method, signal and property in dbus-interfaces/*.xml has a
  doc comment right before it that starts with its name and gives Since:.
- docs/api/<interface>.md exists and names every member.
- Every dialtonectl command from `dialtonectl --help` is in dialtonectl(1).
"""
import pathlib
import re
import subprocess
import sys
import xml.dom.minidom

src = pathlib.Path(sys.argv[1])
dialtonectl = sys.argv[2] if len(sys.argv) > 2 else None
problems = []


def doc_before(node):
    prev = node.previousSibling
    while prev is not None and prev.nodeType == prev.TEXT_NODE and not prev.data.strip():
        prev = prev.previousSibling
    if prev is not None and prev.nodeType == prev.COMMENT_NODE:
        return prev.data
    return None


for path in sorted((src / "dbus-interfaces").glob("*.xml")):
    dom = xml.dom.minidom.parse(str(path))
    for iface in dom.getElementsByTagName("interface"):
        name = iface.getAttribute("name")
        doc = doc_before(iface)
        if not doc or not doc.strip().startswith(name + ":") or "Since:" not in doc:
            problems.append(f"{path.name}: interface {name} lacks a doc comment with Since:")
        page = src / "docs" / "api" / f"{name}.md"
        page_text = page.read_text() if page.exists() else ""
        if not page_text:
            problems.append(f"{path.name}: no API page {page.relative_to(src)}")
        for tag in ("method", "signal", "property"):
            for member in iface.getElementsByTagName(tag):
                mname = member.getAttribute("name")
                doc = doc_before(member)
                if not doc or not doc.strip().startswith(mname + ":"):
                    problems.append(f"{path.name}: {tag} {mname} lacks a doc comment starting '{mname}:'")
                elif "Since:" not in doc:
                    problems.append(f"{path.name}: {tag} {mname} doc comment lacks Since:")
                if page_text and f"`{mname}" not in page_text:
                    problems.append(f"{page.relative_to(src)}: {tag} {mname} is not documented")
                for arg in member.getElementsByTagName("arg"):
                    aname = arg.getAttribute("name")
                    if tag == "method" and doc and f"@{aname}" not in doc:
                        problems.append(f"{path.name}: {mname} argument {aname} is not described (@{aname}:)")

if dialtonectl:
    out = subprocess.run([dialtonectl, "--help"], capture_output=True, text=True, check=True).stdout
    man = (src / "docs" / "man" / "dialtonectl.1.rst").read_text()
    for line in out.split("Commands:")[1].splitlines():
        m = re.match(r"^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)", line)
        if m and not re.search(rf"^{re.escape(m.group(1))}\b", man, re.M):
            problems.append(f"docs/man/dialtonectl.1.rst: command '{m.group(1)}' is not documented")

for p in problems:
    print(p)
print("docs: ok" if not problems else f"docs: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
