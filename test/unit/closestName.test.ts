import { test } from "node:test";
import assert from "node:assert/strict";
import { closestName } from "../../validation/closestName";

test("closestName: a swapped pair of letters is one edit", () => {
  assert.equal(closestName("mdoe", ["mode", "os", "ssd"]), "mode");
  assert.equal(closestName("insatnce-type", ["instance-type", "mode"]), "instance-type");
});

test("closestName: one missing, extra or wrong letter, and case", () => {
  assert.equal(closestName("instnce-type", ["instance-type"]), "instance-type");
  assert.equal(closestName("MODE", ["mode"]), "mode");
  assert.equal(closestName("modes", ["mode"]), "mode");
});

test("closestName: nothing close is nothing", () => {
  assert.equal(closestName("max-pods", ["mode", "os", "ssd", "label", "taint"]), undefined);
  assert.equal(closestName("zz", ["instance-type"]), undefined);
});
