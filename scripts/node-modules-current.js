#!/usr/bin/env node
// Is node_modules what package-lock.json says? Exit 0 when every locked, non-optional package is
// installed at its locked version; exit 1 naming the first difference. Used by scripts/setup.sh to
// run `npm ci` only when node_modules is missing or stale. Usage: node-modules-current.js [repoDir]
"use strict";
const fs = require("fs");
const path = require("path");

const repo = path.resolve(process.argv[2] || path.join(__dirname, ".."));

function stale(reason) {
  process.stdout.write(`${reason}\n`);
  process.exit(1);
}

let lock;
try {
  lock = JSON.parse(fs.readFileSync(path.join(repo, "package-lock.json"), "utf8"));
} catch (e) {
  stale(`cannot read package-lock.json: ${e.message}`);
}
if (!fs.existsSync(path.join(repo, "node_modules"))) stale("node_modules is missing");

for (const [where, entry] of Object.entries(lock.packages || {})) {
  if (where === "" || entry.link || !where.startsWith("node_modules/")) continue;
  let installed;
  try {
    installed = JSON.parse(fs.readFileSync(path.join(repo, where, "package.json"), "utf8")).version;
  } catch {
    if (entry.optional) continue; // e.g. a package for another platform
    stale(`${where} is not installed (locked: ${entry.version})`);
  }
  if (installed !== entry.version) stale(`${where} is ${installed}, package-lock.json says ${entry.version}`);
}
